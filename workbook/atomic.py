"""Write files atomically: readers see the old file or the complete new one, never half of it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_open"]


@contextmanager
def atomic_open(dest: str | os.PathLike, suffix: str = ".part") -> Iterator[BinaryIO]:
    """Open a temporary file beside ``dest`` for binary writing; move it onto ``dest`` on success.

    The temporary file is named ``.<name>.<random><suffix>`` in ``dest``'s folder (so the final
    `os.replace` is atomic) and flushed to disk before the move. If the block raises, the
    temporary file is deleted and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, dest)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
