"""Instructor workflow end to end on real nbgrader: release, submit, autograde, scores.

The reference solution (student ``_solution``) must get full marks. Under ``make test``,
nbval has just executed every committed (solved) notebook with its hidden tests, and
``workbook.nbval_policy`` recorded each cell's time and whether it raised
(``WORKBOOK_NBVAL_RESULTS``): the solution's score and per-cell times are taken from there
(`course.solution_from_executed`) instead of executing every solved notebook a second time.
Run alone, for a notebook changed since, and always for the attacked notebook 01, this test
grades the solution itself, as release does (the release copy with the solutions typed back
in, through the sandbox: full marks, nothing flagged). Either way the solved-but-one-mistake
submission C below goes through the whole pipeline on every notebook and must score full marks
on every other cell. Then student
B submits the untouched student versions, C the solved notebooks with one classic mistake each
(see grading_cases.py), and on notebook 01 come the hostile and careless submissions of
``grading_cases.ATTACKS``, one with edited and deleted test cells, and unreadable files. Every
submission goes through the sandboxed, guarded kernel (tools/grading).
"""

import csv
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import course as course_tools  # noqa: E402
from grading import sandbox  # noqa: E402
from grading_cases import ATTACK_NOTEBOOK, ATTACKS, FAST, MISTAKES, WRONG  # noqa: E402

from workbook.nbval_policy import RESULTS_ENV  # noqa: E402

NOTEBOOKS = course_tools.notebooks()
ATTACKED = next(p for p in NOTEBOOKS if p.stem.startswith(ATTACK_NOTEBOOK))
WORKERS = 2  # grading jobs at once (each one kernel, a few hundred MB to 2 GB)
UNSANDBOXED = sandbox.probe()  # None where bubblewrap works (CI installs it)
# Where `make test`'s nbval stage recorded its runs of the solved notebooks (see the module
# docstring); unset, or stale for a notebook, and the solution is graded here.
RESULTS = os.environ.get(RESULTS_ENV)


def _prepare(nb, number: str):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return course_tools.with_parameters(nb, FAST.get(number))


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _cases(number: str) -> list[tuple]:
    """The notebook's mistake cases: one tuple, or a list of them (grading_cases.py)."""
    cases = MISTAKES[number]
    return cases if isinstance(cases, list) else [cases]


def _with_mistake(nb, number: str):
    for grade_id, old, new, _ in _cases(number):
        cell = _cell(nb, grade_id)
        assert old in cell.source, f"{number}: mistake target {old!r} not in {grade_id}"
        cell.source = cell.source.replace(old, new)
    return nb


def _attack(released, solved, case: dict):
    nb = nbformat.from_dict(released)
    if case["answers"] != "stubs":
        nb = course_tools.solved_submission(nb, solved)
    if case["answers"] == "wrong":
        for grade_id, source in WRONG.items():
            _cell(nb, grade_id).source = source
    first = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first.source += "\n" + case["code"]
    return nb


def _edited_and_deleted(released, solved):
    """Solved, but one test cell edited (made to pass) and the other one deleted."""
    nb = course_tools.solved_submission(nbformat.from_dict(released), solved)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[-1].source = "pass  # trust me"
    nb.cells.remove(tests[0])
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    # shorter waits for the endless loops than an instructor's defaults (30 s, 20 s)
    saved = course_tools.TIMEOUT_MARGIN, course_tools.INTERRUPT_GRACE
    course_tools.TIMEOUT_MARGIN, course_tools.INTERRUPT_GRACE = 15.0, 10.0
    try:
        return _grade_everything(tmp_path_factory)
    finally:
        course_tools.TIMEOUT_MARGIN, course_tools.INTERRUPT_GRACE = saved


def _grade_everything(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    submissions = tmp_path_factory.mktemp("submissions")
    names = course_tools.release(course, measure=False)
    # The attacked notebook's solution is always graded here, through the sandbox as release
    # does (the release check stays tested, and the attacks' timeouts are its own).
    solution, unmeasured = [], names
    if RESULTS:  # nbval has just run every solved notebook: take its score and times
        others = [n for n in names if n != ATTACKED.stem]
        solution, unmeasured = course_tools.solution_from_executed(course, others, Path(RESULTS))
        unmeasured = [ATTACKED.stem, *unmeasured]
    print(f"reference solution: {len(solution)} from nbval's run, {len(unmeasured)} graded here")
    if unmeasured:
        solution += course_tools.measure_solution(
            course, unmeasured, parameters=FAST, workers=WORKERS, allow_unsandboxed=True
        )
    for student in ("B_stubs", "C_mistake", "K_cells", "M_unreadable", *ATTACKS):
        (submissions / student).mkdir()
    for path in NOTEBOOKS:
        number = path.stem[:2]
        solved = nbformat.read(path, as_version=4)
        released = nbformat.read(course / "release" / path.stem / path.name, as_version=4)
        stubs = nbformat.from_dict(released)
        nbformat.write(_prepare(stubs, number), submissions / "B_stubs" / path.name)
        mistaken = course_tools.solved_submission(nbformat.from_dict(released), solved)
        nbformat.write(
            _prepare(_with_mistake(mistaken, number), number), submissions / "C_mistake" / path.name
        )
        if path == ATTACKED:
            for student, case in ATTACKS.items():
                attack = _prepare(_attack(released, solved, case), number)
                nbformat.write(attack, submissions / student / path.name)
            edited = _prepare(_edited_and_deleted(released, solved), number)
            nbformat.write(edited, submissions / "K_cells" / path.name)
    (submissions / "M_unreadable" / ATTACKED.name).write_text('{"cells": [')  # cut short
    (submissions / "M_unreadable" / "99_unknown.ipynb").write_text("{}")
    rows = course_tools.autograde(
        course, submissions, workers=WORKERS, allow_unsandboxed=bool(UNSANDBOXED)
    )
    course_tools.print_table(rows, course / "scores.csv")
    table = {(r["student"], r["notebook"]): r for r in rows + solution}
    return {"table": table, "course": course}


def test_every_notebook_has_grading_cases():
    numbers = {p.stem[:2] for p in NOTEBOOKS}
    graded_numbers = {
        p.stem[:2]
        for p in NOTEBOOKS
        if any(c.metadata.get("nbgrader", {}).get("grade") for c in nbformat.read(p, 4).cells)
    }
    assert graded_numbers <= set(MISTAKES), "every notebook with exercises needs a classic mistake"
    assert set(FAST) <= numbers


def _clean(row) -> bool:
    notes = row["notes"].replace("graded WITHOUT the sandbox", "").strip("; ")
    return row["status"] == ("flagged" if UNSANDBOXED else "ok") and notes == ""


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_scores(graded, path):
    table, name = graded["table"], path.stem
    solved, stubs, mistake = (
        table[(s, name)] for s in (course_tools.SOLUTION_STUDENT, "B_stubs", "C_mistake")
    )
    assert solved["max"] > 0
    assert solved["points"] == solved["max"], f"solved {name} lost points: {solved['cells']}"
    assert stubs["points"] == 0 and all(v == 0 for v in stubs["cells"].values()), stubs["cells"]
    lost = {cell for case in _cases(name[:2]) for cell in case[3]}
    for cell, points in mistake["cells"].items():
        expected = 0 if cell in lost else solved["cells"][cell]
        assert points == expected, f"{name}: {cell} scored {points}, expected {expected}"
    assert mistake["points"] == solved["max"] - sum(solved["cells"][c] for c in lost)
    graded_here = () if solved.get("measured_by") == "nbval" else (solved,)
    for row in (*graded_here, stubs, mistake):  # honest work: no warning, no flag, no note
        assert _clean(row), f"{row['student']} {name}: {row['status']} {row['notes']}"


@pytest.mark.slow
@pytest.mark.parametrize("student", ATTACKS)
def test_attacks_score_zero_on_what_they_touch_and_are_flagged(graded, student):
    case, row = ATTACKS[student], graded["table"][(student, ATTACKED.stem)]
    assert row["points"] == case["points"], (row["cells"], row["notes"])
    expected = case["status"] if case["status"] == "flagged" or not UNSANDBOXED else "flagged"
    assert row["status"] == expected, row["notes"]
    for reason in case["reasons"]:
        assert reason in row["notes"], f"{student}: {reason!r} not in {row['notes']!r}"


@pytest.mark.slow
def test_edited_and_deleted_test_cells_are_reported_and_graded_as_released(graded):
    row = graded["table"][("K_cells", ATTACKED.stem)]
    assert row["points"] == row["max"]  # the real tests ran, on a correct solution
    assert row["status"] == "flagged"
    assert "test cell check_distance deleted" in row["notes"]
    assert "locked cell check_is_same_person edited" in row["notes"]


@pytest.mark.slow
def test_unreadable_submissions_get_error_rows_and_the_rest_is_graded(graded):
    table = graded["table"]
    broken = table[("M_unreadable", ATTACKED.stem)]
    assert broken["status"] == "error" and broken["points"] == 0 and broken["max"] == 3
    assert "not a readable notebook" in broken["notes"]
    unknown = table[("M_unreadable", "99_unknown")]
    assert unknown["status"] == "error" and "no released assignment" in unknown["notes"]
    assert all((s, ATTACKED.stem) in table for s in ("B_stubs", "C_mistake", *ATTACKS))


@pytest.mark.slow
def test_csv_is_the_whole_table(graded):
    path = graded["course"] / "scores.csv"
    with path.open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["student", "notebook", "points", "max", "status", "notes"]
    students = {line[0] for line in lines[1:]}
    assert {"B_stubs", "C_mistake", "M_unreadable", *ATTACKS} <= students
    assert len(lines) - 1 == sum(1 for key in graded["table"] if key[0] != "_solution")


@pytest.mark.slow
def test_nothing_is_left_in_the_students_folders(graded):
    autograded = graded["course"] / "autograded"
    assert not [p for p in autograded.rglob("*") if p.is_symlink()]
    assert os.listdir(autograded)  # they were graded there
