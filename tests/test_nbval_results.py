"""nbval's record of the executed notebooks, and the grading test's use of it.

`make test` executes every solved notebook once, under nbval; ``workbook.nbval_policy``
records each cell's time and whether it raised, and the end-to-end grading test takes the
reference solution's score and timeouts from that record (`course.solution_from_executed`)
instead of executing the notebook again.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from workbook import nbval_policy
from workbook.nbval_policy import RESULTS_ENV, cell_result, executed_results

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import course as course_tools  # noqa: E402

GRADED = {"grade": True, "grade_id": "check_it", "points": 2, "locked": True, "solution": False}


def _graded_cell(source: str, grade_id: str = "check_it", tags=()):
    meta = {"nbgrader": dict(GRADED, grade_id=grade_id), "tags": list(tags)}
    return nbformat.v4.new_code_cell(source, metadata=meta)


def test_a_cell_result_says_whether_it_ran_raised_and_what_it_is_worth():
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])
    printed = nbformat.v4.new_output("stream", name="stdout", text="ok\n")
    graded = _graded_cell("check(x)")
    assert cell_result(graded, [printed], 1.23456) == {
        "seconds": 1.235,
        "ran": True,
        "error": False,
        "grade_id": "check_it",
        "points": 2.0,
    }
    assert cell_result(graded, [printed, error], 0.5)["error"] is True
    plain = cell_result(nbformat.v4.new_code_cell("x = 1"), [], 0.1)
    assert "grade_id" not in plain and plain["error"] is False
    assert cell_result(graded, None, 0.0)["ran"] is False


def _run_nbval(notebook: Path, results: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "--nbval", str(notebook), "-q"]
    command += ["-p", "workbook.nbval_policy", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(notebook.parent)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), **{RESULTS_ENV: str(results)})
    return subprocess.run(command, capture_output=True, text=True, cwd=notebook.parent, env=env)


def test_nbval_records_every_cell_of_the_notebooks_it_runs(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        _graded_cell("assert x == 1", "check_passes"),
        _graded_cell("assert x == 2", "check_fails", tags=["raises-exception"]),
    ]
    for cell in nb.cells:
        cell.execution_count = None
    path = tmp_path / "07_tiny.ipynb"
    nbformat.write(nb, path)
    result = _run_nbval(path, tmp_path / "results")
    assert result.returncode == 0, result.stdout[-2000:]

    record = json.loads((tmp_path / "results" / "07_tiny.json").read_text())
    assert record["notebook"] == "07_tiny"
    cells = record["cells"]
    assert list(cells) == [c.id for c in nb.cells]
    assert [c["ran"] for c in cells.values()] == [True, True, True]
    assert [c["error"] for c in cells.values()] == [False, False, True]
    assert [c.get("grade_id") for c in cells.values()] == [None, "check_passes", "check_fails"]
    assert executed_results(tmp_path / "results", path) == record


def _record(folder: Path, notebook: Path, cells: dict) -> None:
    folder.mkdir(exist_ok=True)
    record = {"notebook": notebook.stem, "sha256": nbval_policy._sha256(notebook), "cells": cells}
    (folder / f"{notebook.stem}.json").write_text(json.dumps(record))


def test_a_record_of_another_version_or_a_cut_short_run_is_not_used(tmp_path):
    notebook = tmp_path / "01_x.ipynb"
    notebook.write_text("{}")
    results = tmp_path / "results"
    assert executed_results(results, notebook) is None  # nothing recorded
    ran = {"a": {"seconds": 1.0, "ran": True, "error": False}}
    _record(results, notebook, ran)
    assert executed_results(results, notebook) is not None
    notebook.write_text('{"changed": 1}')
    assert executed_results(results, notebook) is None  # the notebook changed since
    _record(results, notebook, {**ran, "b": {"seconds": 0.0, "ran": False, "error": False}})
    assert executed_results(results, notebook) is None  # a cell never ran


@pytest.fixture
def course_with_records(tmp_path, monkeypatch):
    """Two fake committed notebooks with nbval records, a course whose max score is 3."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("01_a", "02_b"):
        (notebooks / f"{name}.ipynb").write_text(json.dumps({"name": name}))
    monkeypatch.setattr(course_tools, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(course_tools, "_max_score", lambda course, name: 3.0)
    course = tmp_path / "course"
    course.mkdir()
    return course, notebooks, tmp_path / "results"


def _cells(check_error: bool) -> dict:
    return {
        "cell-0": {"seconds": 4.0, "ran": True, "error": False},
        "cell-1": {"seconds": 0.5, "ran": True, "error": False, "grade_id": "c1", "points": 1.0},
        "cell-2": {"seconds": 0.25, "ran": True, "error": check_error, "grade_id": "c2"}
        | {"points": 2.0},
    }


def test_the_solution_is_scored_and_timed_from_the_record(course_with_records):
    course, notebooks, results = course_with_records
    _record(results, notebooks / "01_a.ipynb", _cells(check_error=False))
    rows, missing = course_tools.solution_from_executed(course, ["01_a", "02_b"], results)
    assert missing == ["02_b"]  # no record: release-style grading for that one
    (row,) = rows
    assert (row["notebook"], row["points"], row["max"]) == ("01_a", 3.0, 3.0)
    assert row["cells"] == {"c1": 1.0, "c2": 2.0} and row["status"] == "ok"
    timings = json.loads((course / "grading" / "timings" / "01_a.json").read_text())
    assert timings["cells"] == {"cell-0": 4.0, "cell-1": 0.5, "cell-2": 0.25}
    assert timings["measured_by"] == "nbval"


def test_a_recorded_solution_that_fails_a_test_is_refused(course_with_records):
    course, notebooks, results = course_with_records
    _record(results, notebooks / "01_a.ipynb", _cells(check_error=True))
    with pytest.raises(RuntimeError, match="01_a: 1.0/3.0"):
        course_tools.solution_from_executed(course, ["01_a"], results)
