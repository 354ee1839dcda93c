"""Download the course data from its public sources, check it and unpack it (``make data``).

The offline course machines already hold the data in ``../shared/data``. An online user runs::

    python -m workbook.fetch_data --root .            # everything, into ./data
    python -m workbook.fetch_data --only art photos   # some groups (or entry names) only
    python -m workbook.fetch_data --verify            # check an existing data folder

and gets the same files: every artefact listed in ``data/manifest.toml`` is downloaded, its
SHA-256 is checked before anything is unpacked, and the processing the shared copy documents
(``SOURCES*.md``) is applied again, so that every notebook runs unchanged. The manifest has
four kinds of tables:

* ``[download.NAME]``: one downloaded artefact: ``url`` (or ``urls``, tried in order), the
  ``sha256`` and ``size`` of the download, ``license``, ``what`` it is, ``dest`` (where it goes,
  relative to the data folder), ``group`` and ``process`` (what happens after the check:
  ``copy``, ``image_1024``, ``files``, ``lfw_archive`` or ``square_images``; see `PROCESSES`).
  ``files`` and ``square_images`` download many files: ``base_url`` plus a ``files`` table
  (name -> SHA-256).
* ``[step.NAME]``: a file made from downloaded ones (``run`` names a function in `STEPS`).
* ``[final]``: ``"relative/path" = "sha256"`` of every final file, for `verify_data`.
* ``[tree."folder"]``: a *tree digest* of a folder too big to list file by file: the SHA-256 of
  the sorted lines ``"relative_path sha256_of_file\\n"`` over the files matching ``include``.

Every file is fetched by `workbook.download.download` (atomic, hash checked before the move).
Nothing here runs in CI or in the tests against the real internet: `fetch` refuses to run when
`workbook.download.downloads_allowed` is False (``CI`` or ``WORKBOOK_OFFLINE`` set).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

import workbook.atomic as atomic
import workbook.wfdb as wfdb
from workbook.atomic import atomic_open
from workbook.download import (
    ChecksumError,
    DownloadError,
    download,
    downloads_allowed,
    file_digest,
    progress_printer,
)
from workbook.resources import data_roots, manifest_path, repo_root, source_checkout

__all__ = [
    "PROCESSES",
    "STEPS",
    "ChecksumError",
    "DownloadError",
    "UnsafeArchiveError",
    "default_data_dir",
    "download",
    "fetch",
    "load_manifest",
    "main",
    "safe_extract",
    "tree_digest",
    "verify_data",
]


class UnsafeArchiveError(ValueError):
    """Raised when an archive member would land outside the target, or is a link/device."""


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def load_manifest(path: str | os.PathLike | None = None) -> dict:
    """Read and sanity-check a data manifest.

    Args:
        path: the TOML file (default ``data/manifest.toml``, or its copy inside the package of
            an installed wheel: `workbook.resources.manifest_path`).

    Returns:
        The parsed manifest with the tables ``download``, ``step``, ``final`` and ``tree``
        (missing ones are empty).

    Raises:
        FileNotFoundError: the manifest does not exist.
        ValueError: an entry lacks a required key or names an unknown process/step.
    """
    path = manifest_path("data") if path is None else path
    with open(path, "rb") as handle:
        manifest = tomllib.load(handle)
    for table in ("download", "step", "final", "tree"):
        manifest.setdefault(table, {})
    for name, entry in manifest["download"].items():
        missing = [key for key in ("dest", "group") if key not in entry]
        if not ("url" in entry or "urls" in entry or "base_url" in entry):
            missing.append("url")
        if missing:
            raise ValueError(f"{path}: [download.{name}] lacks {', '.join(missing)}")
        process = entry.get("process", "copy")
        if process not in PROCESSES:
            raise ValueError(
                f"{path}: [download.{name}] has process {process!r}; valid: {', '.join(PROCESSES)}"
            )
        if process in _MANY_FILES and not (entry.get("files") and "base_url" in entry):
            raise ValueError(f"{path}: [download.{name}] needs base_url and a files table")
        if not entry.get("sha256") and process not in ("lfw_archive", *_MANY_FILES):
            raise ValueError(f"{path}: [download.{name}] needs a sha256 of the download")
    for name, entry in manifest["step"].items():
        if entry.get("run") not in STEPS:
            raise ValueError(
                f"{path}: [step.{name}] has run {entry.get('run')!r}; valid: {', '.join(STEPS)}"
            )
    return manifest


_MANY_FILES = ("files", "square_images")  # processes that download a `files` table


def _urls(entry: dict) -> list[str]:
    return list(entry["urls"]) if "urls" in entry else [entry["url"]]


# --------------------------------------------------------------------------------------------
# Digests
# --------------------------------------------------------------------------------------------


def tree_digest(folder: str | os.PathLike, include: str = "**/*") -> tuple[int, str]:
    """Return ``(file_count, sha256)`` over the files of ``folder`` that match ``include``.

    The digest is the SHA-256 of the UTF-8 text made of one line
    ``"<relative/posix/path> <sha256 of the file>\\n"`` per file, sorted by path, so it is the
    same on every operating system and does not depend on timestamps or file order on disk.

    Args:
        folder: the folder to digest.
        include: a `pathlib.Path.glob` pattern relative to ``folder`` (``"*/*.jpg"``).

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; nothing to digest")
    paths = _folder_files(folder, include)
    text = "".join(f"{rel} {file_digest(folder / rel)}\n" for rel in paths)
    return len(paths), hashlib.sha256(text.encode("utf-8")).hexdigest()


def _folder_files(folder: Path, include: str) -> list[str]:
    """Return the relative POSIX paths of the files of ``folder`` matching ``include``, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.glob(include) if p.is_file())


# --------------------------------------------------------------------------------------------
# Download (one file: `workbook.download.download`; here: many files from one base URL)
# --------------------------------------------------------------------------------------------


def _file_url(base_url: str, rel: str) -> str:
    """Return ``base_url/rel`` with ``rel`` percent-encoded (``'`` -> ``%27``, space -> ``%20``)."""
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(rel)}"


def _download_files(
    base_url: str,
    files: dict[str, str | None],
    folder: Path,
    *,
    label: str,
    progress: bool,
    threads: int = 8,
) -> None:
    """Download ``folder/rel`` from ``base_url/rel`` for every ``rel: sha256`` of ``files``.

    Files already present with their SHA-256 are kept. Eight downloads run at a time; each is
    checked (when its hash is known) and moved into place on its own, so an interrupted run
    resumes where it stopped. Progress is one ``done/total files`` line.
    """
    todo = [
        (rel, sha)
        for rel, sha in sorted(files.items())
        if not (sha and (folder / rel).is_file() and file_digest(folder / rel) == sha)
    ]
    show = progress_printer(label, unit="files") if progress and todo else None

    def get(item: tuple[str, str | None]) -> None:
        rel, sha = item
        download(_file_url(base_url, rel), folder / rel, sha, label=rel, progress=False)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for done, _ in enumerate(pool.map(get, todo), 1):
            if show:
                show(done, len(todo))


def _safe_member_path(name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} would be written outside the target folder; refusing to"
            " unpack this archive"
        )
    return path


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Unpack a ``.tar``/``.tgz``/``.zip`` archive into ``target``, refusing unsafe members.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    symbolic/hard links and devices are rejected, so a crafted archive cannot write outside
    ``target``.

    Args:
        archive: the archive file (its type is detected from its content).
        target: the folder to unpack into (created).

    Returns:
        ``target``.

    Raises:
        UnsafeArchiveError: some member is unsafe (nothing was extracted).
        ValueError: the file is neither a tar nor a zip archive.
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _safe_member_path(info.filename, archive.name)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UnsafeArchiveError(f"{archive.name}: member {info.filename!r} is a link")
            for info in infos:
                zf.extract(info, target)
        return target
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"{archive} is neither a tar nor a zip archive")
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            _safe_member_path(member.name, archive.name)
            if not (member.isfile() or member.isdir()):
                raise UnsafeArchiveError(
                    f"{archive.name}: member {member.name!r} is a link or device; refusing to"
                    " unpack this archive"
                )
        if hasattr(tarfile, "data_filter"):
            tf.extractall(target, members=members, filter="data")
        else:  # Python < 3.11.4: the members were checked above
            tf.extractall(target, members=members)  # noqa: S202
    return target


# --------------------------------------------------------------------------------------------
# Processing after download (one function per `process` value)
# --------------------------------------------------------------------------------------------


def _image_1024(raw: Path, dest: Path) -> None:
    """The shared copy's image rule: long side > 1024 px or PNG -> RGB JPEG quality 92.

    Images with a long side over 1024 px are resized to 1024 px on the long side (Lanczos,
    aspect kept, sides rounded); PNGs are re-encoded; JPEGs of 1024 px or less are copied byte
    for byte.
    """
    from PIL import Image  # deferred: only this processing needs Pillow

    with Image.open(raw) as image:
        image.load()
        fmt = image.format
        width, height = image.size
        if fmt == "JPEG" and max(width, height) <= 1024:
            _atomic_copy(raw, dest)
            return
        if max(width, height) > 1024:
            scale = 1024 / max(width, height)
            size = (round(width * scale), round(height * scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=92)
    _atomic_write(dest, buffer.getvalue())


def _atomic_write(dest: Path, data: bytes) -> None:
    with atomic_open(dest) as out:
        out.write(data)


def _atomic_copy(src: Path, dest: Path) -> None:
    _atomic_write(dest, Path(src).read_bytes())


def _people_sets(people_txt: Path) -> list[list[str]]:
    """Parse LFW ``people.txt``: a count of sets, then per set a count and ``name<TAB>n`` lines."""
    lines = people_txt.read_text(encoding="utf-8").splitlines()
    sets, i = [], 1
    for _ in range(int(lines[0])):
        count = int(lines[i])
        sets.append([line.split("\t")[0] for line in lines[i + 1 : i + 1 + count]])
        i += 1 + count
    return sets


def _lfw_withheld(data_dir: Path, entry: dict) -> set[str]:
    people = data_dir / entry.get("people_file", "faces/lfw/people.txt")
    if not people.is_file():
        raise FileNotFoundError(
            f"{people} is missing; it lists the withheld LFW people. Fetch it first"
            " (python -m workbook.fetch_data --only lfw_people)."
        )
    withheld = entry.get("withhold_people_set")
    return set(_people_sets(people)[withheld - 1]) if withheld else set()


def _lfw_archive(data_dir: Path, name: str, entry: dict, manifest: dict, progress: bool) -> None:
    """Download the deep-funneled LFW archive, unpack it and withhold the people of one set.

    The archive's own hash is not pinned (its bytes were not available when the manifest was
    written), so the unpacked result is checked instead against the tree digest of ``dest``.
    If every archive URL fails, the images are fetched one by one from ``file_base_url`` (the
    official site's repository at a pinned commit), using the file list in ``people.txt``.
    """
    dest = data_dir / entry["dest"]
    withheld = _lfw_withheld(data_dir, entry)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.unpack."))
    try:
        archive = staging / "archive"
        try:
            download(_urls(entry), archive, entry.get("sha256"), label=name, progress=progress)
            unpacked = safe_extract(archive, staging / "out")
            archive.unlink()
            people_root = _folder_of_people(unpacked)
        except DownloadError as error:
            if "file_base_url" not in entry:
                raise
            print(f"  {name}: archive unavailable ({error}); fetching the images one by one")
            people_root = staging / "out"
            _lfw_files(data_dir, entry, people_root, progress)
        people = sorted(p for p in people_root.iterdir() if p.is_dir())
        for person in people:
            if person.name in withheld:
                shutil.rmtree(person)
        # Check the unpacked images before any of them reaches `dest`.
        _check_tree(people_root, entry["dest"], manifest, label=str(dest))
        dest.mkdir(parents=True, exist_ok=True)
        for person in people:
            if person.name in withheld:
                continue
            target = dest / person.name
            if target.exists():
                shutil.rmtree(target)
            atomic.replace(person, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _folder_of_people(unpacked: Path) -> Path:
    """Return the folder that holds the ``<Name>/`` folders (archives wrap them in a top folder)."""
    entries = [p for p in unpacked.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        if any(child.is_dir() for child in inner.iterdir()):
            return inner
    return unpacked


def _lfw_files(data_dir: Path, entry: dict, out: Path, progress: bool) -> None:
    withheld = _lfw_withheld(data_dir, entry)
    people = data_dir / entry.get("people_file", "faces/lfw/people.txt")
    counts = {}
    for line in people.read_text(encoding="utf-8").splitlines():
        if "\t" in line:
            person, count = line.split("\t")
            counts[person] = int(count)
    jobs = {
        f"{p}/{p}_{k:04d}.jpg": None
        for p, n in sorted(counts.items())
        if p not in withheld
        for k in range(1, n + 1)
    }
    _download_files(entry["file_base_url"], jobs, out, label="lfw images", progress=progress)


def _files(data_dir: Path, name: str, entry: dict, manifest: dict, progress: bool) -> None:
    """Download each ``files`` entry (``relative/path = sha256``) from ``base_url`` to ``dest``."""
    dest = data_dir / entry["dest"]
    _download_files(entry["base_url"], entry["files"], dest, label=name, progress=progress)
    if entry["dest"] in manifest["tree"]:
        _check_tree(data_dir, entry["dest"], manifest)


def _square_jpeg(src: Path, dest: Path, size: int, quality: int) -> bool:
    """Make a ``size`` x ``size`` RGB JPEG from one image; return True if it had to be upscaled.

    The shared copy's exact recipe (Pillow): convert to RGB; resize so that the shorter side
    is ``size`` (``scale = size / min(w, h)``, new sides ``max(size, round(side * scale))``,
    Lanczos); crop the centre ``size`` x ``size`` (``left = (W - size) // 2``,
    ``top = (H - size) // 2``); save as JPEG with ``quality`` and Pillow's other defaults.
    """
    from PIL import Image  # deferred: only the image processing needs Pillow

    with Image.open(src) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    scale = size / min(width, height)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    image = image.resize(new, Image.Resampling.LANCZOS)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    image = image.crop((left, top, left + size, top + size))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    _atomic_write(dest, buffer.getvalue())
    return min(width, height) < size


def _square_images(data_dir: Path, name: str, entry: dict, manifest: dict, progress: bool) -> None:
    """Download source images (each checked by SHA-256) and make square JPEGs of them.

    Entry keys: ``base_url`` and ``files`` (source name -> SHA-256) as for ``files``; ``dest``;
    ``size`` (256) and ``quality`` (90) for `_square_jpeg`; the output is named as the source
    with the suffix ``suffix`` (``".jpg"``). ``upscaled_file`` (optional) lists, below a
    comment line, the sources whose shorter side was under ``size``. The sources wait in
    ``<data>/.downloads/NAME/`` (so an interrupted run resumes) and are deleted at the end.
    """
    dest, raw = data_dir / entry["dest"], data_dir / ".downloads" / name
    size, quality = entry.get("size", 256), entry.get("quality", 90)
    _download_files(entry["base_url"], entry["files"], raw, label=name, progress=progress)
    upscaled = []
    for rel in sorted(entry["files"]):
        out = dest / PurePosixPath(rel).with_suffix(entry.get("suffix", ".jpg"))
        if _square_jpeg(raw / rel, out, size, quality):
            upscaled.append(rel)
    if "upscaled_file" in entry:
        header = (
            f"# Sources shorter than {size} px on their shorter side (upscaled, soft);"
            " names as in the source repository\n"
        )
        text = header + "".join(f"{rel}\n" for rel in upscaled)
        _atomic_write(dest / entry["upscaled_file"], text.encode("utf-8"))
    shutil.rmtree(raw)


def _simple(process: Callable[[Path, Path], None] | None):
    """Wrap a one-file processing function: download to a temp file, check, process to dest."""

    def run(data_dir: Path, name: str, entry: dict, manifest: dict, progress: bool) -> None:
        dest = data_dir / entry["dest"]
        if process is None:
            download(_urls(entry), dest, entry["sha256"], label=name, progress=progress)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".download.") as tmp:
            raw = download(
                _urls(entry), Path(tmp) / "raw", entry["sha256"], label=name, progress=progress
            )
            process(raw, dest)

    return run


PROCESSES: dict[str, Callable[..., None]] = {
    "copy": _simple(None),
    "image_1024": _simple(_image_1024),
    "files": _files,
    "lfw_archive": _lfw_archive,
    "square_images": _square_images,
}
"""What happens to a checked download, by the manifest's ``process`` value."""


# --------------------------------------------------------------------------------------------
# Steps: files made from downloaded ones
# --------------------------------------------------------------------------------------------


def _split_lines(data: bytes) -> list[bytes]:
    """Split text on CR, LF or CRLF line endings, dropping one trailing empty line."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return lines[:-1] if lines and lines[-1] == b"" else lines


def _openface_without_set5(data_dir: Path, step: dict) -> None:
    """OpenFace reference embeddings: CR -> LF line endings, rows of withheld people removed.

    ``labels.csv`` rows are ``label_id,path/<Name>/<Name>_NNNN.png``; the row of the same index in
    ``reps.csv`` is its embedding, so both files are filtered with the same row mask.
    """
    reps_in, labels_in, people = (data_dir / p for p in step["inputs"])
    reps, labels = _split_lines(reps_in.read_bytes()), _split_lines(labels_in.read_bytes())
    if len(reps) != len(labels):
        raise ValueError(f"{reps_in} has {len(reps)} rows but {labels_in} has {len(labels)}")
    withheld = set(_people_sets(people)[step["withhold_people_set"] - 1])
    keep = [i for i, row in enumerate(labels) if row.split(b"/")[-2].decode() not in withheld]
    for rows, out in zip((reps, labels), step["outputs"], strict=True):
        _atomic_write(data_dir / out, b"".join(rows[i] + b"\n" for i in keep))


def _pairs(path: Path) -> Iterable[tuple[int, str, str, int]]:
    """Yield ``(fold, path_a, path_b, same)`` from an LFW pairs file (1-based folds)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split()
    # "folds<TAB>pairs_per_class" (view 2) or just "pairs_per_class" (view 1, fold 0)
    folds, per_fold = (int(header[0]), int(header[1])) if len(header) == 2 else (1, int(header[0]))
    numbered = len(header) == 2
    rows = iter(lines[1:])
    for fold in range(1, folds + 1):
        for same in (1, 0):
            for _ in range(per_fold):
                cols = next(rows).split("\t")
                if same:
                    a, b = (cols[0], int(cols[1])), (cols[0], int(cols[2]))
                else:
                    a, b = (cols[0], int(cols[1])), (cols[2], int(cols[3]))
                yield (fold if numbered else 0), _lfw_rel(*a), _lfw_rel(*b), same


def _lfw_rel(person: str, number: int) -> str:
    return f"{person}/{person}_{number:04d}.jpg"


def _pairs_available(data_dir: Path, step: dict) -> None:
    """Index the official LFW pairs whose two images are present.

    Columns: ``split,fold,path_a,path_b,same``.

    ``pairs.txt`` becomes split ``view2`` (folds 1-10), ``pairsDevTrain.txt`` ``devtrain`` and
    ``pairsDevTest.txt`` ``devtest`` (fold 0). Paths are relative to the LFW folder.
    """
    lfw = data_dir / step["folder"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # the shared copy uses csv's default "\r\n" line ends
    writer.writerow(["split", "fold", "path_a", "path_b", "same"])
    for split, file in step["splits"].items():
        for fold, a, b, same in _pairs(lfw / file):
            if (lfw / a).is_file() and (lfw / b).is_file():
                writer.writerow([split, fold, a, b, same])
    _atomic_write(data_dir / step["outputs"][0], buffer.getvalue().encode("utf-8"))


def _mitdb_npz(data_dir: Path, step: dict) -> None:
    """Pack a MIT-BIH record (signals + reference beat labels) into a NumPy-only ``.npz``.

    Keys: ``signal_adc`` int16 (n, channels); ``adc_gain`` float64; ``adc_zero`` int64; ``fs``;
    ``sig_name``; ``ann_sample`` int64; ``ann_symbol`` str; ``ann_aux_note`` str. Millivolts are
    ``(signal_adc - adc_zero) / adc_gain``. Loads with ``np.load(path, allow_pickle=False)``.
    """
    import numpy as np

    record = data_dir / step["record"]
    header = wfdb.read_header(record.with_suffix(".hea"))
    signal = wfdb.read_format212(record.with_suffix(".dat"), header["nsig"], header["length"])
    samples, symbols, notes = wfdb.read_mit_annotations(record.with_suffix(".atr"))
    with atomic_open(data_dir / step["outputs"][0]) as out:
        np.savez_compressed(
            out,
            signal_adc=signal,
            adc_gain=np.array(header["gain"], dtype=np.float64),
            adc_zero=np.array(header["zero"], dtype=np.int64),
            fs=np.array(header["fs"], dtype=np.int64),
            sig_name=np.array(header["name"]),
            ann_sample=np.array(samples, dtype=np.int64),
            ann_symbol=np.array(symbols),
            ann_aux_note=np.array(notes),
        )


def _first_lines(data_dir: Path, step: dict) -> None:
    """Keep the first ``lines`` lines of ``inputs[0]``, byte for byte (like ``head -n``)."""
    data = (data_dir / step["inputs"][0]).read_bytes()
    _atomic_write(data_dir / step["outputs"][0], b"".join(data.splitlines(True)[: step["lines"]]))


def _sha256sum(data_dir: Path, step: dict) -> None:
    """Write ``sha256sum``'s format for the files of ``folder`` matching ``include``.

    One line ``"<sha256>  <relative path>\\n"`` per file, sorted by path, so that
    ``sha256sum -c`` run inside the folder checks them.
    """
    folder = data_dir / step["folder"]
    lines = [
        f"{file_digest(folder / rel)}  {rel}\n" for rel in _folder_files(folder, step["include"])
    ]
    _atomic_write(data_dir / step["outputs"][0], "".join(lines).encode("utf-8"))


def _wnid_classes(data_dir: Path, step: dict) -> None:
    """Index images named ``<wnid>_<label>.jpg``: CSV ``wnid,label,file``, sorted by wnid.

    Sorted WordNet ids are the standard ImageNet-1k class order (index 0..999). Python `csv`
    with its default ``\\r\\n`` line ends, as in the shared copy.
    """
    folder = data_dir / step["folder"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["wnid", "label", "file"])
    for rel in _folder_files(folder, step["include"]):
        wnid, _, label = PurePosixPath(rel).stem.partition("_")
        writer.writerow([wnid, label, rel])
    _atomic_write(data_dir / step["outputs"][0], buffer.getvalue().encode("utf-8"))


STEPS: dict[str, Callable[[Path, dict], None]] = {
    "openface_without_set5": _openface_without_set5,
    "pairs_available": _pairs_available,
    "mitdb_npz": _mitdb_npz,
    "first_lines": _first_lines,
    "sha256sum": _sha256sum,
    "wnid_classes": _wnid_classes,
}
"""Functions that make derived files, by the manifest's ``run`` value."""


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def _check_tree(base: Path, folder: str, manifest: dict, label: str | None = None) -> None:
    """Raise `ChecksumError` unless ``base / folder`` matches ``[tree."folder"]``.

    With ``label``, ``base`` itself is the folder to digest (a staging copy of ``folder``).
    """
    spec = manifest["tree"][folder]
    path = base if label else base / folder
    count, digest = tree_digest(path, spec.get("include", "**/*"))
    if (count, digest) != (spec["count"], spec["sha256"]):
        raise ChecksumError(
            f"Tree digest mismatch for {label or path} ({spec.get('include', '**/*')}):\n"
            f"  expected {spec['count']} files, sha256 {spec['sha256']}\n"
            f"  got      {count} files, sha256 {digest}\n"
            "The source may have changed; run `python -m workbook.fetch_data --verify` for details."
        )


def _selected_paths(manifest: dict, only: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Return the ``final`` files and ``tree`` folders made by the selected groups/entries."""
    if not only:
        return sorted(manifest["final"]), sorted(manifest["tree"])
    prefixes = set()
    for entry_name in _closure(manifest, only):
        table = manifest["download"].get(entry_name) or manifest["step"].get(entry_name)
        prefixes.update(_outputs(table))
    files = [p for p in manifest["final"] if p in prefixes]
    trees = [t for t in manifest["tree"] if t in prefixes]
    return sorted(files), sorted(trees)


def verify_data(
    data_dir: str | os.PathLike, manifest: dict, only: Sequence[str] | None = None
) -> list[str]:
    """Check a data folder against the manifest's ``final`` hashes and ``tree`` digests.

    Args:
        data_dir: the data folder (``<repo>/data`` or ``../shared/data``).
        manifest: from `load_manifest`.
        only: restrict to these groups or entry names.

    Returns:
        One line per problem (missing file, wrong hash, wrong tree digest); empty when all match.
    """
    data_dir = Path(data_dir)
    files, trees = _selected_paths(manifest, only)
    problems = []
    for rel in files:
        path = data_dir / rel
        if not path.is_file():
            problems.append(f"missing   {rel}")
        elif (actual := file_digest(path)) != manifest["final"][rel]:
            problems.append(f"changed   {rel}: sha256 {actual}, expected {manifest['final'][rel]}")
    for folder in trees:
        try:
            _check_tree(data_dir, folder, manifest)
        except FileNotFoundError:
            problems.append(f"missing   {folder}/")
        except ChecksumError as error:
            problems.append(f"changed   {folder}/: " + str(error).splitlines()[2].strip())
    return problems


# --------------------------------------------------------------------------------------------
# Fetch
# --------------------------------------------------------------------------------------------


def default_data_dir(manifest: dict) -> Path:
    """Return the first folder of `workbook.resources.data_roots` that holds any manifest file.

    ``<repo>/data`` always exists (it holds this manifest), so it counts only once data is in it;
    otherwise the offline course copy ``../shared/data`` is found. Falls back to ``<repo>/data``.
    """
    wanted = list(manifest["final"]) + list(manifest["tree"])
    for root in data_roots():
        if any((root / rel).exists() for rel in wanted):
            return root
    return repo_root() / "data"


def _outputs(entry: dict) -> list[str]:
    return list(entry.get("outputs", [entry["dest"]] if "dest" in entry else []))


def _closure(manifest: dict, only: Sequence[str] | None) -> list[str]:
    """Return the download/step names to run, in manifest order, with everything they need."""
    names = list(manifest["download"]) + list(manifest["step"])
    if not only:
        return names
    tables = {**manifest["download"], **manifest["step"]}
    unknown = [
        o for o in only if o not in tables and not any(t.get("group") == o for t in tables.values())
    ]
    if unknown:
        groups = sorted({t["group"] for t in tables.values()})
        raise KeyError(
            f"Unknown data {', '.join(unknown)}; choose groups ({', '.join(groups)}) or entries"
            f" ({', '.join(names)})"
        )
    wanted = {n for n, t in tables.items() if n in only or t.get("group") in only}
    todo = list(wanted)
    while todo:
        for need in tables[todo.pop()].get("needs", []):
            if need not in wanted:
                wanted.add(need)
                todo.append(need)
    return [n for n in names if n in wanted]


def _is_current(data_dir: Path, entry: dict, manifest: dict) -> bool:
    """True when every output of ``entry`` exists and matches its recorded hash or tree digest."""
    for rel in _outputs(entry):
        path = data_dir / rel
        if rel in manifest["tree"]:
            spec = manifest["tree"][rel]
            if not path.is_dir():
                return False
            count, digest = tree_digest(path, spec.get("include", "**/*"))
            if (count, digest) != (spec["count"], spec["sha256"]) and digest != (
                _processed_record(data_dir).get(rel + "/")
            ):
                return False
            continue
        expected = manifest["final"].get(rel)
        if not expected and entry.get("process", "copy") == "copy":
            expected = entry.get("sha256")
        if entry.get("process") == "files":
            ok = all(
                (path / f).is_file() and file_digest(path / f) == s
                for f, s in entry["files"].items()
            )
            if not ok:
                return False
        elif not path.is_file():
            return False
        elif expected and (actual := file_digest(path)) != expected:
            if actual != _processed_record(data_dir).get(rel):
                return False
    return True


def _processed_record(data_dir: Path) -> dict[str, str]:
    """Return the hashes of outputs made here that differ in bytes from the course copy.

    Kept in ``<data>/.downloads/processed.json`` so that such files are not fetched again on
    every run; `verify_data` still reports them as different from the course copy.
    """
    path = data_dir / ".downloads" / "processed.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _remember_processed(data_dir: Path, rel: str, digest: str) -> None:
    record = _processed_record(data_dir)
    record[rel] = digest
    _atomic_write(data_dir / ".downloads" / "processed.json", json.dumps(record, indent=1).encode())


def _differences(data_dir: Path, entry: dict, manifest: dict) -> list[str]:
    """Compare the outputs just made with the course copy; record and report the differences.

    Only processed outputs can differ (their sources were verified): a different Pillow or
    libjpeg, NumPy or zlib can encode the same content in different bytes. Such outputs are
    kept, remembered in ``.downloads/processed.json`` (so they are not made again on every
    run) and reported; `verify_data` still lists them as ``changed``.
    """
    warnings = []
    for rel in _outputs(entry):
        path = data_dir / rel
        if rel in manifest["tree"] and path.is_dir():
            spec = manifest["tree"][rel]
            count, digest = tree_digest(path, spec.get("include", "**/*"))
            if (count, digest) != (spec["count"], spec["sha256"]):
                _remember_processed(data_dir, rel + "/", digest)
                warnings.append(
                    f"{rel}/ differs from the course copy ({count} files, tree digest {digest};"
                    f" expected {spec['count']} files, {spec['sha256']}). Its sources were"
                    " verified; another Pillow/libjpeg version can resize or encode the same"
                    " images into slightly different bytes (see data/README.md)."
                )
            continue
        expected = manifest["final"].get(rel)
        if expected and path.is_file() and (actual := file_digest(path)) != expected:
            _remember_processed(data_dir, rel, actual)
            warnings.append(
                f"{rel} differs from the course copy (sha256 {expected}). Its source was"
                " verified; a different Pillow/libjpeg, NumPy or zlib version can encode the"
                " same content in different bytes."
            )
    return warnings


def fetch(
    data_dir: str | os.PathLike,
    manifest: dict,
    only: Sequence[str] | None = None,
    *,
    progress: bool = True,
) -> list[str]:
    """Download, check and process the selected artefacts into ``data_dir``.

    Entries whose outputs are already present with the right hashes are skipped. Processed
    outputs whose bytes differ from the shared copy's (a different Pillow/libjpeg can encode
    the same pixels differently) are kept and reported; their sources were verified.

    Args:
        data_dir: the target data folder (created).
        manifest: from `load_manifest`.
        only: groups or entry names (plus what they need); all when empty.
        progress: print progress to stderr.

    Returns:
        Warnings (outputs that differ from the recorded final hashes).

    Raises:
        RuntimeError: downloads are not allowed here (``CI`` or ``WORKBOOK_OFFLINE`` set).
        KeyError: an unknown group or entry name in ``only``.
        DownloadError / ChecksumError / UnsafeArchiveError: as raised by the steps.
    """
    if not downloads_allowed():
        raise RuntimeError(
            "Downloads are disabled because CI or WORKBOOK_OFFLINE is set; fetch_data never runs"
            " in CI. Unset them on a machine with internet access, or point WORKBOOK_DATA at an"
            " existing data folder."
        )
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    warnings = []
    for name in _closure(manifest, only):
        is_step = name in manifest["step"]
        entry = manifest["step"][name] if is_step else manifest["download"][name]
        if _is_current(data_dir, entry, manifest):
            print(f"ok        {name}")
            continue
        print(f"{'making' if is_step else 'fetching':<9} {name}: {entry.get('what', '')}")
        if is_step:
            STEPS[entry["run"]](data_dir, entry)
        else:
            PROCESSES[entry.get("process", "copy")](data_dir, name, entry, manifest, progress)
        warnings += _differences(data_dir, entry, manifest)
    return warnings


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m workbook.fetch_data [--root DIR] [--only NAME ...] [--verify]``."""
    parser = argparse.ArgumentParser(
        prog="python -m workbook.fetch_data",
        description="Download the course data into <root>/data, or --verify an existing copy.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="repository root; data goes to ROOT/data (default: this checkout; with --verify,"
        " the folder workbook.data_path() finds)",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="groups or entry names")
    parser.add_argument("--verify", action="store_true", help="check files, download nothing")
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    manifest = load_manifest(args.manifest)
    try:
        if args.verify:
            data_dir = args.root / "data" if args.root else default_data_dir(manifest)
            problems = verify_data(data_dir, manifest, args.only)
            files, trees = _selected_paths(manifest, args.only)
            for line in problems:
                print(line)
            print(
                f"{data_dir}: {len(files)} files and {len(trees)} folders checked,"
                f" {len(problems)} problem(s)"
            )
            return 1 if problems else 0
        if args.root is None and source_checkout() is None:
            raise ValueError(
                "this workbook is installed without its repository, so there is no ./data to"
                " fill: pass --root DIR (the data goes to DIR/data) and set"
                " WORKBOOK_DATA=DIR/data for the notebooks"
            )
        data_dir = (args.root or repo_root()) / "data"
        warnings = fetch(data_dir, manifest, args.only, progress=not args.quiet)
    except (RuntimeError, KeyError, ValueError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(f"Data ready in {data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
