"""The nbval comparison policy (a pytest plugin: ``-p workbook.nbval_policy``).

nbval re-executes each notebook and compares every cell's new outputs with the
committed ones, after the regex replacements of ``tests/nbval_sanitize.cfg``
(memory addresses, temporary paths, timings). On top of those we apply two rules,
so the same committed outputs pass on CPU and GPU kernels:

1. Every decimal number is rounded to 3 significant digits before comparing
   (``0.93712`` and ``0.93689`` both read ``0.937``). Integers are compared exactly.
2. ``stderr`` streams are not compared: they hold library warnings and progress
   bars, which vary with versions and hardware. ``stdout`` and rich outputs are.

3. Cells tagged ``nbval-approximate`` hold results of a training run from random weights,
   whose last digits differ between CPU types (vector instructions change the order of
   floating-point sums, and training amplifies it). Their outputs must read the same text,
   and every number must lie within `APPROXIMATE_RTOL` (relative) or `APPROXIMATE_ATOL`
   (absolute) of the stored one: a real change of the result still fails.

Images are not compared (nbval's default); timings and progress bars belong in
cells marked ``# NBVAL_IGNORE_OUTPUT`` (the marker must be the whole comment line).

**Results for the grading test.** With ``WORKBOOK_NBVAL_RESULTS=DIR`` set, each executed
notebook also gets ``DIR/<stem>.json``: the sha256 of the notebook file and, per cell id, its
run time and whether it raised, with the nbgrader ``grade_id`` and points of graded cells.
nbval has then run the reference solution with its hidden tests once; the end-to-end grading
test (``tests/test_grading_e2e.py``) takes the solution's score and per-cell times from these
files instead of executing every solved notebook a second time (`executed_results`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from pathlib import Path

SIGNIFICANT_DIGITS = 3
#: Tolerances of cells tagged ``nbval-approximate`` (see the module docstring).
APPROXIMATE_RTOL = 0.1
APPROXIMATE_ATOL = 0.02
APPROXIMATE_TAG = "nbval-approximate"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_FLOAT = re.compile(
    r"(?<![\w.])-?\d+\.\d+(?:[eE][+-]?\d+)?(?![\w.])|(?<![\w.])-?\d+[eE][+-]?\d+(?![\w.])"
)


def round_floats(text: str, digits: int = SIGNIFICANT_DIGITS) -> str:
    """Rewrite every decimal number in ``text`` with ``digits`` significant digits."""

    def rounded(match: re.Match) -> str:
        value = float(match.group(0))
        return "0" if value == 0 else f"{value:.{digits}g}"

    return _FLOAT.sub(rounded, text)


def numbers_agree(reference: str, test: str) -> bool:
    """True when two texts differ only in their numbers, each within the approximate tolerance."""
    if _NUMBER.sub("#", reference) != _NUMBER.sub("#", test):
        return False
    pairs = zip(_NUMBER.findall(reference), _NUMBER.findall(test), strict=True)
    return all(
        math.isclose(float(a), float(b), rel_tol=APPROXIMATE_RTOL, abs_tol=APPROXIMATE_ATOL)
        for a, b in pairs
    )


def _texts(outputs) -> list[str]:
    """Every text of a cell's outputs (streams and text/* data), in order."""
    found = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") != "stderr":
            found.append(output.get("text", ""))
        for key, value in output.get("data", {}).items():
            if key.startswith("text/"):
                found.append(value if isinstance(value, str) else "".join(value))
    return found


def _install_nbval_policy() -> None:
    try:
        from nbval import plugin
    except ImportError:  # nbval not installed: nothing to configure
        return
    if getattr(plugin, "_workbook_policy", False):
        return
    original_sanitize = plugin.IPyNbCell.sanitize
    original_streams = plugin.transform_streams_for_comparison
    original_compare = plugin.IPyNbCell.compare_outputs

    def compare(self, test, ref, skip_compare=None):
        tags = self.cell.metadata.get("tags", []) if getattr(self, "cell", None) else []
        if APPROXIMATE_TAG in tags:
            got, want = _texts(test), _texts(ref)
            if len(got) == len(want) and all(map(numbers_agree, want, got)):
                test = copy.deepcopy(
                    ref
                )  # close enough: compare the stored outputs with themselves
        return original_compare(self, test, ref, skip_compare)

    def sanitize(self, s):
        s = original_sanitize(self, s)
        return round_floats(s) if isinstance(s, str) else s

    def streams(outputs):
        kept = [
            o
            for o in outputs
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
        ]
        return original_streams(kept)

    plugin.IPyNbCell.sanitize = sanitize
    plugin.transform_streams_for_comparison = streams
    plugin.IPyNbCell.compare_outputs = compare
    plugin._workbook_policy = True


_install_nbval_policy()


# -- results of the executed notebooks (for the grading test) ---------------------------------
RESULTS_ENV = "WORKBOOK_NBVAL_RESULTS"
_durations: dict[str, float] = {}
_results: dict[Path, dict] = {}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cell_result(cell, outputs, seconds: float) -> dict:
    """What the grading test needs of one executed cell.

    Args:
        cell: the notebook cell (its nbgrader metadata says whether it is graded).
        outputs: the outputs its execution produced (None: it did not run).
        seconds: its run time.

    Returns ``{"seconds", "ran", "error"}``, plus ``"grade_id"`` and ``"points"`` for a
    graded cell.
    """
    ran = outputs is not None
    error = ran and any(o.get("output_type") == "error" for o in outputs)
    result = {"seconds": round(seconds, 3), "ran": ran, "error": error}
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("grade"):
        result.update(grade_id=meta.get("grade_id"), points=float(meta.get("points", 0)))
    return result


def pytest_runtest_logreport(report):
    """Keep each nbval cell's run time (the call phase)."""
    if report.when == "call" and os.environ.get(RESULTS_ENV):
        _durations[report.nodeid] = report.duration


def pytest_runtest_teardown(item):
    """Record an nbval cell's result under its notebook (only with `RESULTS_ENV` set)."""
    cell = getattr(item, "cell", None)
    if not os.environ.get(RESULTS_ENV) or cell is None or not hasattr(item, "test_outputs"):
        return
    notebook = Path(str(item.parent.fspath))
    entry = _results.setdefault(notebook, {"cells": {}})
    seconds = _durations.get(item.nodeid, 0.0)
    entry["cells"][cell.get("id") or str(item.cell_num)] = cell_result(
        cell, item.test_outputs, seconds
    )


def pytest_sessionfinish(session):
    """Write ``<stem>.json`` for every notebook this process executed."""
    folder = os.environ.get(RESULTS_ENV)
    if not folder or not _results:
        return
    from workbook.atomic import atomic_open

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for notebook, entry in _results.items():
        record = {"notebook": notebook.stem, "sha256": _sha256(notebook), **entry}
        with atomic_open(out / f"{notebook.stem}.json", "w") as handle:
            json.dump(record, handle, indent=1)


def executed_results(folder: str | os.PathLike, notebook: Path) -> dict | None:
    """The recorded nbval execution of ``notebook``, or None when absent or stale.

    Stale: recorded from another version of the file (its sha256 differs), or some cell did
    not run (the run was cut short).
    """
    path = Path(folder) / f"{notebook.stem}.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    if record.get("sha256") != _sha256(notebook):
        return None
    if not all(c["ran"] for c in record["cells"].values()):
        return None
    return record
