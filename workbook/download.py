"""The workbook's one way to download a file: atomically, checksummed, never in CI.

Everything that fetches bytes from the internet goes through `download`: ``make data``
(`workbook.fetch_data`), the pretrained weights with a URL (`workbook.resources.weights_path`,
e.g. ImageNet VGG-19) and the OpenFace CSV weights (`fr_utils.models.openface`). One call::

    download(url, dest, expected_hash, algorithm="sha256")

streams the response into a temporary file beside ``dest`` (`workbook.atomic.atomic_open`)
while hashing it, and moves it onto ``dest`` only when the hash matches, so ``dest`` is either
absent, the old file or the complete verified new one, never a partial download. It refuses
to touch the network when `downloads_allowed` is False (``CI`` or ``WORKBOOK_OFFLINE`` set).

Hash algorithms (`ALGORITHMS`): ``sha256``, ``md5`` (Keras' published weights) and
``git-blob-sha1``, the id git gives a file's content (``git ls-tree`` lists it), i.e. the SHA-1
of ``b"blob <size>\\0" + content``; it lets a manifest pin files of a repository without git.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from workbook.atomic import atomic_open

__all__ = [
    "ALGORITHMS",
    "ChecksumError",
    "DownloadError",
    "DownloadsDisabledError",
    "download",
    "downloads_allowed",
    "file_digest",
    "git_blob_sha1",
    "progress_printer",
]

ALGORITHMS = ("sha256", "md5", "git-blob-sha1")
"""The hash algorithms `download` and `file_digest` accept."""

USER_AGENT = "special-applications-workbook (+https://github.com)"
_CHUNK = 1 << 16

Progress = Callable[[int, "int | None"], None]


class DownloadError(RuntimeError):
    """Raised when a file cannot be downloaded from any of its URLs."""


class ChecksumError(DownloadError):
    """Raised when downloaded bytes do not have the expected hash (the file was deleted)."""


class DownloadsDisabledError(DownloadError):
    """Raised instead of downloading when ``CI`` or ``WORKBOOK_OFFLINE`` is set."""


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def downloads_allowed() -> bool:
    """Return False when downloads are forbidden: in CI (``CI`` set) or ``WORKBOOK_OFFLINE=1``."""
    return not (_flag("CI") or _flag("WORKBOOK_OFFLINE"))


def _refusal(label: str, url: str) -> DownloadsDisabledError:
    variables = [name for name in ("CI", "WORKBOOK_OFFLINE") if _flag(name)]
    return DownloadsDisabledError(
        f"Not downloading {label} from {url}: downloads are disabled because"
        f" {' and '.join(variables)} {'is' if len(variables) == 1 else 'are'} set (CI and"
        " offline machines never download). Fix: on a machine with internet access, unset"
        f" {' and '.join(variables)}; or put the file at its destination by hand."
    )


# --------------------------------------------------------------------------------------------
# Hashes
# --------------------------------------------------------------------------------------------


class _GitBlobSHA1:
    """Streaming git blob id: SHA-1 of ``b"blob <size>\\0" + content``.

    The header needs the size first. With a known ``size`` the content is hashed as it comes;
    without one it is kept in memory until `hexdigest` (fine for the small files git hosts).
    """

    def __init__(self, size: int | None = None):
        self._size = size
        self._sha1 = hashlib.sha1(b"blob %d\0" % size) if size is not None else None
        self._parts: list[bytes] = []
        self._seen = 0

    def update(self, data: bytes) -> None:
        self._seen += len(data)
        if self._sha1 is not None:
            self._sha1.update(data)
        else:
            self._parts.append(bytes(data))

    def hexdigest(self) -> str:
        if self._sha1 is not None and self._seen == self._size:
            return self._sha1.hexdigest()
        if self._sha1 is not None:  # the announced size was wrong: no valid digest to give
            return "size-mismatch"
        return git_blob_sha1(b"".join(self._parts))


def _hasher(algorithm: str, size: int | None = None):
    """Return an object with ``update(bytes)`` and ``hexdigest()`` for one of `ALGORITHMS`."""
    if algorithm == "git-blob-sha1":
        return _GitBlobSHA1(size)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"Unknown hash algorithm {algorithm!r}; valid: {', '.join(ALGORITHMS)}")
    return hashlib.new(algorithm)


def git_blob_sha1(data: bytes) -> str:
    """Return the id git gives a file with content ``data`` (its blob SHA-1).

    Example: the empty file's id is ``e69de29bb2d1d6434b8b29ae775ad8c2e48c5391``.
    """
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Return the hex digest of a file, read in 1 MiB blocks.

    Args:
        path: the file.
        algorithm: one of `ALGORITHMS` (or any other name `hashlib.new` knows).
    """
    size = os.path.getsize(path) if algorithm == "git-blob-sha1" else None
    digest = _hasher(algorithm, size) if algorithm in ALGORITHMS else hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


def progress_printer(label: str, unit: str = "MB") -> Progress:
    """Return a callback ``show(done, total)`` that prints ``label: done/total`` to stderr.

    It prints at most every 5 % of ``total`` (every 5 MB or 100 files when the total is
    unknown), on one line rewritten with ``\\r`` on a terminal and on separate lines otherwise
    (logs, notebooks).

    Args:
        label: what is being downloaded.
        unit: ``"MB"`` (``done``/``total`` are bytes) or ``"files"`` (counts).
    """
    state = {"shown": -1}
    tty = sys.stderr.isatty()
    scale, fmt = (1e6, "{:.1f}") if unit == "MB" else (1, "{:.0f}")

    def show(done: int, total: int | None) -> None:
        if total:
            step = int(20 * done / total)
            if step == state["shown"] and done < total:
                return
            state["shown"] = step
            amount = f"{fmt.format(done / scale)}/{fmt.format(total / scale)} {unit}"
            text = f"  {label}: {amount} ({100 * done // total}%)"
        else:
            step = int(done / (5e6 if unit == "MB" else 100))
            if step == state["shown"]:
                return
            state["shown"] = step
            text = f"  {label}: {fmt.format(done / scale)} {unit}"
        print(("\r" + text) if tty else text, end="" if tty else "\n", file=sys.stderr, flush=True)
        if tty and total and done >= total:
            print(file=sys.stderr)

    return show


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


def _open_url(url: str, timeout: float):
    """Open ``url`` for reading; ``package://pkg/rel/path`` reads a file of an installed package.

    Returns:
        ``(readable, length or None)``.
    """
    if url.startswith("package://"):
        package, _, rel = url[len("package://") :].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DownloadError(
                f"{url}: the Python package {package!r} is not installed;"
                " fix: pip install -e . (it is a dependency of the workbook)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / rel
        if not path.is_file():
            raise DownloadError(f"{url}: {path} is missing; reinstall {package}")
        return open(path, "rb"), path.stat().st_size
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"{url}: only http(s):// and package:// URLs are downloaded")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https only)
    length = response.headers.get("Content-Length")
    return response, int(length) if length and length.isdigit() else None


def download(
    urls: str | Sequence[str],
    dest: str | os.PathLike,
    expected: str | None,
    *,
    algorithm: str = "sha256",
    label: str | None = None,
    progress: bool | Progress = True,
    timeout: float = 60.0,
) -> Path:
    """Download a file atomically and check its hash before it reaches ``dest``.

    The bytes are streamed into a temporary file in ``dest``'s folder while they are hashed;
    only a download with the expected digest is moved onto ``dest`` (atomically). A failed,
    interrupted or rejected download leaves nothing behind, and an existing ``dest`` is kept.
    Several URLs (mirrors of the same file) are tried in order.

    Args:
        urls: one URL or mirrors (``http(s)://``, or ``package://pkg/path`` for a file of an
            installed Python package, which needs no network).
        dest: the final path (its folder is created).
        expected: the expected hex digest, or None/"" when unknown (the caller must then check
            the result some other way, e.g. `workbook.fetch_data.tree_digest`).
        algorithm: how ``expected`` was computed, one of `ALGORITHMS`.
        label: the name shown in messages and progress lines (default: ``dest``'s name).
        progress: print progress to stderr (True), stay quiet (False), or a callback
            ``f(done_bytes, total_bytes_or_None)``.
        timeout: seconds to wait for the server to connect or send the next block.

    Returns:
        ``dest`` as a `Path`.

    Raises:
        DownloadsDisabledError: ``CI`` or ``WORKBOOK_OFFLINE`` is set (nothing was requested).
        ChecksumError: the only URL served bytes with another digest (names both hashes).
        DownloadError: no URL gave the expected file (names each URL and what went wrong).
        ValueError: an unknown ``algorithm``.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    dest = Path(dest)
    label = label or dest.name
    _hasher(algorithm)  # unknown algorithms fail before any request
    if not downloads_allowed() and not all(u.startswith("package://") for u in urls):
        raise _refusal(label, urls[0])
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors: list[DownloadError] = []
    for url in urls:
        try:
            _download_one(url, dest, expected, algorithm, label, progress, timeout)
            return dest
        except (urllib.error.URLError, http.client.HTTPException, OSError, DownloadError) as error:
            if not isinstance(error, DownloadError):
                error = DownloadError(f"{url}: {error}")
            errors.append(error)
    if len(errors) == 1:
        raise errors[0]
    raise DownloadError(
        f"Could not download {label} from any of its {len(urls)} URLs:\n  "
        + "\n  ".join(str(e) for e in errors)
    )


def _download_one(
    url: str,
    dest: Path,
    expected: str | None,
    algorithm: str,
    label: str,
    progress: bool | Progress,
    timeout: float,
) -> None:
    handle, total = _open_url(url, timeout)
    show = progress if callable(progress) else progress_printer(label) if progress else None
    digest = _hasher(algorithm, total)
    with handle, atomic_open(dest) as out:
        done = 0
        for block in iter(lambda: handle.read(_CHUNK), b""):
            out.write(block)
            digest.update(block)
            done += len(block)
            if show:
                show(done, total)
        if total is not None and done != total:
            raise DownloadError(f"{url}: got {done} bytes, the server announced {total}")
        actual = digest.hexdigest()
        if expected and actual != expected.lower():
            raise ChecksumError(
                f"Checksum mismatch for {label} downloaded from {url}:\n"
                f"  expected {algorithm} {expected}\n  got      {algorithm} {actual}\n"
                "The file was deleted. The server may have changed it; please report this."
            )
