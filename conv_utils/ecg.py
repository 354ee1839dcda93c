"""MIT-BIH electrocardiograms: load a record, cut heartbeats around R peaks, split by time.

The data are records of the MIT-BIH Arrhythmia Database (Moody & Mark 2001; PhysioNet,
Goldberger et al. 2000; Open Data Commons Attribution License v1.0), 30 minutes at 360 Hz
with two leads and a cardiologist's label at every beat's R peak. ``ATTRIBUTION`` holds the
lines a notebook must show. Record 208 has 1586 normal (N), 992 premature ventricular (V) and
373 fusion (F) beats, which makes a three-class beat classifier.

The ``.npz`` files hold plain arrays (no pickle): ``signal_adc`` int16 ``(samples, 2)``,
``adc_gain``, ``adc_zero``, ``fs``, ``sig_name``, ``ann_sample`` and ``ann_symbol``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbook.resources import data_path

__all__ = [
    "ATTRIBUTION",
    "BEAT_NAMES",
    "Beats",
    "EcgRecord",
    "class_weights",
    "load_ecg_record",
    "segment_beats",
    "split_by_time",
]

ATTRIBUTION = (
    "ECG: MIT-BIH Arrhythmia Database (PhysioNet), Open Data Commons Attribution License v1.0."
    "\nMoody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng in Med and"
    " Biol 20(3):45-50 (2001). doi:10.13026/C2F305"
    "\nGoldberger AL et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation"
    " 101(23):e215-e220 (2000)."
)

#: What the MIT-BIH beat symbols used here mean.
BEAT_NAMES = {
    "N": "normal",
    "V": "premature ventricular contraction",
    "F": "fusion of ventricular and normal",
    "A": "atrial premature",
    "S": "supraventricular premature",
    "Q": "unclassifiable",
}

_RECORDS = ("100", "208")


@dataclass(frozen=True)
class EcgRecord:
    """One MIT-BIH record in millivolts, with its beat annotations.

    Attributes:
        name: record number, e.g. ``"208"``.
        signal: ``(n_samples, n_leads)`` float32, millivolts.
        fs: sampling rate in Hz (360).
        leads: lead names, e.g. ``("MLII", "V1")``.
        ann_sample: ``(n_ann,)`` int64 sample index of each annotation (an R peak for beats).
        ann_symbol: ``(n_ann,)`` str label of each annotation (``"N"``, ``"V"``, ``"+"``...).
    """

    name: str
    signal: np.ndarray
    fs: int
    leads: tuple[str, ...]
    ann_sample: np.ndarray
    ann_symbol: np.ndarray

    @property
    def duration(self) -> float:
        """Length of the recording in seconds."""
        return self.signal.shape[0] / self.fs


@dataclass(frozen=True)
class Beats:
    """Heartbeats cut out of a record, one window per annotated R peak.

    Attributes:
        x: ``(m, length, 1)`` float32 windows in millivolts, baseline (window median) removed.
        y: ``(m,)`` int64 class index into ``classes``.
        sample: ``(m,)`` int64 R-peak sample index in the record (for splits by time).
        classes: the beat symbols, e.g. ``("N", "V", "F")``.
        offset: samples before the R peak in each window (the R peak is at ``x[:, offset]``).
        fs: sampling rate in Hz.
    """

    x: np.ndarray
    y: np.ndarray
    sample: np.ndarray
    classes: tuple[str, ...]
    offset: int
    fs: int

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Beats:
        """Return the beats selected by a boolean mask or an index array."""
        x, y, sample = self.x[mask], self.y[mask], self.sample[mask]
        return Beats(x, y, sample, self.classes, self.offset, self.fs)

    def counts(self) -> dict[str, int]:
        """Return the number of beats of each class, e.g. ``{"N": 1059, "V": 726, "F": 304}``."""
        return {c: int(np.sum(self.y == k)) for k, c in enumerate(self.classes)}


def load_ecg_record(record: str = "208") -> EcgRecord:
    """Load an MIT-BIH record from the shared data (``ecg/mitdb_<record>.npz``).

    Args:
        record: ``"208"`` (N/V/F beats) or ``"100"`` (almost only normal beats).

    Returns:
        An `EcgRecord` with the signal converted to millivolts: ``(adc - zero) / gain``.

    Raises:
        ValueError: for an unknown record, listing the available ones.
        workbook.DataNotFoundError: if the data folder does not hold the file.
    """
    record = str(record)
    if record not in _RECORDS:
        raise ValueError(f"Unknown ECG record {record!r}; available: {', '.join(_RECORDS)}.")
    with np.load(data_path(f"ecg/mitdb_{record}.npz"), allow_pickle=False) as data:
        signal = (data["signal_adc"] - data["adc_zero"]) / data["adc_gain"]
        return EcgRecord(
            name=record,
            signal=signal.astype(np.float32),
            fs=int(data["fs"]),
            leads=tuple(str(name) for name in data["sig_name"]),
            ann_sample=data["ann_sample"].astype(np.int64),
            ann_symbol=data["ann_symbol"].astype(str),
        )


def segment_beats(
    record: EcgRecord,
    classes: Sequence[str] = ("N", "V", "F"),
    before: float = 0.25,
    after: float = 0.45,
    lead: int = 0,
) -> Beats:
    """Cut one window around every annotated R peak whose label is in ``classes``.

    A beat lasts about 0.6-1 s: the P wave comes ~0.2 s before the R peak and the T wave ends
    ~0.4 s after it, so the default window (0.25 s before, 0.45 s after, 252 samples at 360 Hz)
    holds one whole beat. Each window's median is subtracted, which removes the slow baseline
    wander of the recording. Beats too close to either end of the record are dropped.

    Args:
        record: an `EcgRecord`.
        classes: beat symbols to keep, in the order of the class indices.
        before, after: window extent around the R peak, in seconds.
        lead: which lead to use (0 is MLII in both records).

    Returns:
        `Beats` ordered by time.

    Raises:
        ValueError: for an empty or repeated class list, a class absent from the record, a bad
            lead or non-positive window extents.
    """
    classes = tuple(classes)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct beat symbols; got {classes}.")
    present = set(record.ann_symbol.tolist())
    missing = [c for c in classes if c not in present]
    if missing:
        raise ValueError(
            f"Record {record.name} has no beats labelled {missing}; its labels are"
            f" {sorted(present)}."
        )
    if not 0 <= lead < record.signal.shape[1]:
        raise ValueError(f"lead must be in 0..{record.signal.shape[1] - 1}; got {lead}.")
    if before <= 0 or after <= 0:
        raise ValueError(f"before and after must be positive seconds; got {before}, {after}.")
    offset, tail = round(before * record.fs), round(after * record.fs)
    keep = np.isin(record.ann_symbol, classes)
    keep &= (record.ann_sample >= offset) & (record.ann_sample + tail <= len(record.signal))
    peaks = record.ann_sample[keep]
    index = peaks[:, None] + np.arange(-offset, tail)[None, :]
    windows = record.signal[index, lead]
    windows = windows - np.median(windows, axis=1, keepdims=True)
    labels = np.array([classes.index(s) for s in record.ann_symbol[keep]], dtype=np.int64)
    return Beats(
        x=windows[..., None].astype(np.float32),
        y=labels,
        sample=peaks,
        classes=classes,
        offset=offset,
        fs=record.fs,
    )


def split_by_time(beats: Beats, train_fraction: float = 0.7) -> tuple[Beats, Beats]:
    """Split beats at a moment in time: training before it, test after it.

    A random split would put neighbouring, nearly identical beats of the same patient on
    both sides and overstate the accuracy; a split by time asks the honest question "having
    seen the first 21 minutes, how well do we label the last 9?". Beats whose window would
    straddle the cut are dropped, so no sample is shared.

    Args:
        beats: `Beats` from `segment_beats`.
        train_fraction: fraction of the time span (first to last R peak) used for training.

    Returns:
        ``(train, test)``.

    Raises:
        ValueError: if ``train_fraction`` is not strictly between 0 and 1.
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1); got {train_fraction}.")
    start, stop = beats.sample.min(), beats.sample.max()
    cut = start + train_fraction * (stop - start)
    length = beats.x.shape[1]
    train = beats.sample + (length - beats.offset) <= cut
    test = beats.sample - beats.offset >= cut
    return beats.subset(train), beats.subset(test)


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """Return Keras ``class_weight`` that make every class weigh the same in the loss.

    Class ``k`` with ``m_k`` of the ``m`` examples gets ``m / (n_classes * m_k)``: a rare class
    (fusion beats) counts more per example, and the weights average to 1 over the examples.

    Raises:
        ValueError: if a class has no example (its weight would be infinite).
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=n_classes)
    if np.any(counts == 0) or len(counts) != n_classes:
        raise ValueError(f"every class needs at least one example; counts per class: {counts}.")
    return {k: float(len(labels) / (n_classes * counts[k])) for k in range(n_classes)}
