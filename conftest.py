"""Repository-wide pytest configuration: the nbval comparison policy (see its docstring), and
a list of the browser tests' screenshots at the end of a run."""

import time
from pathlib import Path

pytest_plugins = ("workbook.nbval_policy",)


SCREENSHOTS = Path(__file__).resolve().parent / "build" / "screenshots"
_SESSION_START = time.time()


def pytest_terminal_summary(terminalreporter):
    """List the screenshots the browser tests (tests/browser) took in this run.

    Here rather than in tests/browser/conftest.py: under pytest-xdist only the workers load
    that one, and their output is not shown.
    """
    if not SCREENSHOTS.is_dir():
        return
    fresh = sorted(p for p in SCREENSHOTS.glob("*.png") if p.stat().st_mtime >= _SESSION_START)
    if fresh:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(fresh)} screenshots in {SCREENSHOTS}:")
        terminalreporter.write_line("  " + " ".join(path.name for path in fresh))
