"""Read PhysioNet WFDB records with NumPy only: headers, format-212 signals, MIT annotations.

`workbook.fetch_data` uses these to rebuild the MIT-BIH ``.npz`` files of the course data
from the original records, so the workbook needs no ``wfdb`` dependency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_format212", "read_header", "read_mit_annotations"]


# MIT annotation codes -> symbols (the table of the WFDB library, codes 0-49).
_ANN_SYMBOLS = (
    [" ", "N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j", "/", "Q", "~", "[15]", "|"]
    + ["[17]", "s", "T", "*", "D", '"', "=", "p", "B", "^", "t", "+", "u", "?", "!", "[", "]"]
    + ["e", "n", "@", "x", "f", "(", ")", "r"]
    + [f"[{code}]" for code in range(42, 50)]
)


def read_header(path: Path) -> dict:
    """Parse a WFDB ``.hea`` header with format-212 signals: rate, length, gains, zeros, names."""
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    record = lines[0].split()
    nsig, fs, length = int(record[1]), int(float(record[2])), int(record[3])
    gains, zeros, names, formats = [], [], [], []
    for line in lines[1 : 1 + nsig]:
        cols = line.split()
        formats.append(cols[1])
        gains.append(float(cols[2].split("(")[0].split("/")[0]))
        zeros.append(int(cols[4]))
        names.append(" ".join(cols[8:]))
    if set(formats) != {"212"}:
        raise ValueError(f"{path}: only WFDB format 212 is supported, got {formats}")
    return {"nsig": nsig, "fs": fs, "length": length, "gain": gains, "zero": zeros, "name": names}


def read_format212(path: Path, nsig: int, length: int):
    """Decode WFDB format 212 (two 12-bit two's-complement samples in 3 bytes) to int16."""
    raw = np.fromfile(path, dtype=np.uint8)
    count = length * nsig
    raw = raw[: 3 * ((count + 1) // 2)].reshape(-1, 3).astype(np.int16)
    first = raw[:, 0] | ((raw[:, 1] & 0x0F) << 8)
    second = raw[:, 2] | ((raw[:, 1] & 0xF0) << 4)
    samples = np.stack([first, second], axis=1).reshape(-1)[:count]
    samples = np.where(samples > 2047, samples - 4096, samples).astype(np.int16)
    return samples.reshape(length, nsig)


def read_mit_annotations(path: Path):
    """Decode an MIT-format annotation file: returns ``(samples, symbols, aux_notes)`` lists.

    Each 16-bit little-endian word holds a 6-bit code A and a 10-bit value I. A in 1-49 starts an
    annotation I samples after the previous one; SKIP (59) adds a 32-bit interval, AUX (63) gives
    I bytes of note text for the current annotation; NUM/SUB/CHN (60-62) are not needed here.
    """
    data = path.read_bytes()
    samples, symbols, notes = [], [], []
    time, pos = 0, 0
    while pos + 1 < len(data):
        word = data[pos] | (data[pos + 1] << 8)
        pos += 2
        code, value = word >> 10, word & 0x3FF
        if code == 0 and value == 0:
            break
        if code == 59:  # SKIP: 32-bit interval, high 16 bits first (PDP-11 order)
            high = data[pos] | (data[pos + 1] << 8)
            low = data[pos + 2] | (data[pos + 3] << 8)
            interval = (high << 16) | low
            time += interval - (1 << 32) if interval >= 1 << 31 else interval
            pos += 4
        elif code == 63:  # AUX: note of the current annotation, padded to an even length
            # kept as stored, with its padding NUL (what WFDB returns; NumPy hides trailing NULs)
            notes[-1] = data[pos : pos + value].decode("latin-1")
            pos += value + (value & 1)
        elif code in (60, 61, 62):
            continue
        else:
            time += value
            samples.append(time)
            symbols.append(_ANN_SYMBOLS[code])
            notes.append("")
    return samples, symbols, notes
