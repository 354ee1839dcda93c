"""Write files atomically: readers see the old file or the complete new one, never half of it.

Every file the project writes for keeps (a face database, a converted-weights cache, an
encoding cache, a downloaded file, a generated image, a notebook) goes through this module:

* `atomic_open` gives a file object to write to;
* `atomic_path` gives a temporary *path*, for writers that insist on a file name (Keras'
  ``save_weights``, which also checks the name's ending);
* `replace` is the one place that moves a finished file or folder into place.

How: the new content goes to a hidden temporary file beside the destination, named
``.<random>.tmp.<name>`` (so it keeps the destination's extension), is flushed to disk, and
is then moved onto the destination with `os.replace`, which is atomic within a folder. If
writing fails, the temporary file is deleted and the destination is untouched. An existing
destination keeps its permission bits, and writing through a symbolic link replaces the
file the link points to, not the link. `remove_stale` deletes temporary files that a killed
process left behind.

An atomic write keeps readers safe, not writers: two processes that each load a file, change
it and write it back lose one of the two changes. `exclusive_lock` serialises such
read-modify-write sections across processes (an advisory ``flock`` on a hidden ``.<name>.lock``
file beside the destination; Linux and macOS; on Windows it does not lock, see there).
"""

from __future__ import annotations

import os
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "atomic_path", "exclusive_lock", "lock_file", "remove_stale", "replace"]

_TAG = ".tmp."
# A temporary file older than this belongs to a process that died while writing it.
STALE_SECONDS = 3600
# How long `exclusive_lock` waits for another process to finish by default, in seconds.
LOCK_TIMEOUT = 600.0

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def _target(dest: str | os.PathLike) -> Path:
    """The file really written: ``dest``, or what it links to when it is a symbolic link."""
    dest = Path(dest)
    return Path(os.path.realpath(dest)) if dest.is_symlink() else dest


def _new_temp(target: Path) -> Path:
    """Create an empty temporary file beside ``target`` with the usual permissions (umask)."""
    for _ in range(100):
        temp = target.parent / f".{secrets.token_hex(4)}{_TAG}{target.name}"
        try:
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return temp
    raise FileExistsError(f"could not create a temporary file beside {target}")


def replace(source: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Move a finished file or folder ``source`` onto ``dest`` in one step (`os.replace`).

    Both must be in the same file system (use a temporary name beside ``dest``). The folder
    is synced afterwards where the platform allows it, so the move survives a power cut.
    """
    os.replace(source, dest)
    try:
        folder = os.open(Path(dest).parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(folder)
    except OSError:
        pass
    finally:
        os.close(folder)


@contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it onto ``dest`` when the block succeeds.

    The temporary name ends with ``dest``'s name, so writers that check the extension accept
    it. Write the whole file inside the block. If the block raises, the temporary file is
    deleted and ``dest`` is untouched.

    Example::

        with atomic_path(cache / "model.weights.h5") as temp:
            model.save_weights(temp)
    """
    target = _target(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _new_temp(target)
    try:
        yield temp
        if target.exists():
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))
        replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(dest: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``dest`` for writing; move it onto ``dest`` on success.

    Args:
        dest: the file to (re)write.
        mode: ``"wb"`` (bytes) or ``"w"`` (text; ``kwargs`` such as ``encoding`` or
            ``newline`` go to `open`).

    The file is flushed and synced to disk before the move (see `atomic_path`).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes a whole new file: mode 'wb' or 'w', got {mode!r}")
    with atomic_path(dest) as temp, open(temp, mode, **kwargs) as out:
        yield out
        out.flush()
        os.fsync(out.fileno())


def remove_stale(dest: str | os.PathLike, older_than: float = STALE_SECONDS) -> list[Path]:
    """Delete the temporary files of ``dest`` left by writers that died (older than an hour).

    Returns:
        The paths removed. Temporary files still being written (recent ones) are kept.
    """
    target = _target(dest)
    if not target.parent.is_dir():
        return []
    removed = []
    now = time.time()
    for temp in target.parent.glob(f".*{_TAG}{target.name}"):
        try:
            if now - temp.stat().st_mtime > older_than:
                temp.unlink()
                removed.append(temp)
        except FileNotFoundError:  # another process cleaned it first
            continue
    return removed


def lock_file(dest: str | os.PathLike) -> Path:
    """The lock file of ``dest``: ``.<name>.lock`` beside the file really written."""
    target = _target(dest)
    return target.parent / f".{target.name}.lock"


@contextmanager
def exclusive_lock(dest: str | os.PathLike, timeout: float = LOCK_TIMEOUT) -> Iterator[Path]:
    """Hold an exclusive inter-process lock on ``dest`` for the duration of the block.

    Wrap a whole load-modify-save in it, so that concurrent writers take turns instead of
    overwriting each other's changes. The lock is an advisory ``flock`` on `lock_file` (the
    lock file is kept; deleting it could let two writers in). Every writer of ``dest`` must
    take it; readers need not (`atomic_open` already gives them a whole file). Symbolic links
    are resolved, so two links to one file share one lock.

    On Windows there is no ``fcntl``: the block runs without a lock, and concurrent writers
    can lose changes there as before.

    Args:
        dest: the file to be changed (it need not exist yet; its folder must).
        timeout: seconds to wait for another holder before giving up.

    Yields:
        The lock file's path.

    Raises:
        TimeoutError: another process held the lock for ``timeout`` seconds.
    """
    path = lock_file(dest)
    if fcntl is None:
        yield path
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{dest} is being changed by another process (it has held {path} for"
                        f" over {timeout:.0f} s); try again when it has finished"
                    ) from None
                time.sleep(0.02)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
