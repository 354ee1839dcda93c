"""The grading kernel: ipykernel with `grading.guard` installed before any cell runs.

Started by `grading.sandbox` (inside bubblewrap, or unsandboxed in the fallback mode) as
``python tools/grading/kernel.py -f CONNECTION_FILE [ipykernel options]``. It

0. holds its `grading.lifeline` (in the sandbox): it exits when its launcher is gone;
1. mirrors the read-only workbook cache (``$WORKBOOK_CACHE_RO``) into the kernel's own
   writable cache (``$WORKBOOK_CACHE``): folders are recreated and files linked, so cached
   weights and crops are read from the shared copy while anything written stays private;
2. initialises ipykernel, then installs the guard with the package hashes of
   ``$WORKBOOK_GRADING_MANIFEST``; if that fails the kernel exits, and the submission gets an
   error row instead of being graded unguarded;
3. serves cells.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def mirror_cache(source: Path, target: Path) -> int:
    """Recreate ``source``'s folders under ``target`` and symlink its files; return the count."""
    count = 0
    if not source.is_dir():
        return count
    for folder, _, files in os.walk(source):
        into = target / Path(folder).relative_to(source)
        into.mkdir(parents=True, exist_ok=True)
        for name in files:
            link = into / name
            if not link.exists():
                link.symlink_to(Path(folder) / name)
                count += 1
    return count


def main(argv: list[str] | None = None) -> None:
    """Start ipykernel with the guard installed (arguments as for ``ipykernel_launcher``)."""
    argv = sys.argv[1:] if argv is None else argv
    from grading import lifeline

    lifeline.hold()  # before anything else: the launcher may already be gone
    for variable in ("HOME", "MPLCONFIGDIR", "XDG_CACHE_HOME", "KERAS_HOME"):
        if os.environ.get(variable):
            Path(os.environ[variable]).mkdir(parents=True, exist_ok=True)
    if os.environ.get("WORKBOOK_CACHE_RO") and os.environ.get("WORKBOOK_CACHE"):
        mirror_cache(Path(os.environ["WORKBOOK_CACHE_RO"]), Path(os.environ["WORKBOOK_CACHE"]))
    with open(os.environ["WORKBOOK_GRADING_MANIFEST"]) as handle:
        manifest = json.load(handle)

    # "pid 1": no parent poller (in the sandbox our parent is its init) and no console banner
    os.environ["JPY_PARENT_PID"] = "1"
    from ipykernel.kernelapp import IPKernelApp

    from grading import guard

    app = IPKernelApp.instance()
    app.initialize(argv)
    with _quiet_stderr():  # TensorFlow's C++ start-up lines, as in workbook.setup
        guard.install(app.shell, app.kernel, manifest)
    app.start()


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null meanwhile (Python exceptions still propagate)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if __name__ == "__main__":
    main()
