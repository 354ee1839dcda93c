"""Finding a test's own processes by a marker in their command line (``/proc``).

Tests that start a process which must not outlive something (a worker, a kernel, a sandbox)
give it a marker no other process has, e.g. ``sleep 987.654``, and look for it here.
"""

from __future__ import annotations

from pathlib import Path


def proc_text(process: Path, name: str) -> str:
    """The text of ``/proc/PID/name`` (``cmdline``, ``comm``...), or "" once the process is gone."""
    try:
        return (process / name).read_bytes().decode(errors="replace")
    except OSError:
        return ""


def running(marker: str) -> list[Path]:
    """The ``/proc/PID`` folders of the processes whose command line contains ``marker``."""
    return [
        p for p in Path("/proc").iterdir() if p.name.isdigit() and marker in proc_text(p, "cmdline")
    ]
