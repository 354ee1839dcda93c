"""Instructor workflow end to end on real nbgrader: release, submit, autograde, scores.

Student A submits the solved notebooks, student B the untouched student versions, and
student C the solved notebooks with one classic mistake each (see grading_cases.py).
"""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import course as course_tools  # noqa: E402
from grading_cases import FAST, MISTAKES  # noqa: E402

NOTEBOOKS = course_tools.notebooks()


def _prepare(nb, number: str):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "parameters" in cell.metadata.get("tags", []) and number in FAST:
                cell.source += "\n" + FAST[number]
    return nb


def _solved_by_student(stubs, solved):
    """The release copy with each stub replaced by the reference solution, as a student would."""
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in solved.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in stubs.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            kept = [line for line in answers[grade_id].splitlines() if "### " not in line]
            cell.source = "\n".join(kept)
    return stubs


def _cases(number: str) -> list[tuple]:
    """The notebook's mistake cases: one tuple, or a list of them (grading_cases.py)."""
    cases = MISTAKES[number]
    return cases if isinstance(cases, list) else [cases]


def _with_mistake(nb, number: str):
    for grade_id, old, new, _ in _cases(number):
        cell = next(
            c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
        )
        assert old in cell.source, f"{number}: mistake target {old!r} not in {grade_id}"
        cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    submissions = tmp_path_factory.mktemp("submissions")
    course_tools.release(course)
    for student in ("A_solved", "B_stubs", "C_mistake"):
        (submissions / student).mkdir()
    for path in NOTEBOOKS:
        number = path.stem[:2]
        solved = nbformat.read(path, as_version=4)
        released = course / "release" / path.stem / path.name
        answered = _solved_by_student(nbformat.read(released, as_version=4), solved)
        nbformat.write(_prepare(answered, number), submissions / "A_solved" / path.name)
        stubs = nbformat.read(released, as_version=4)
        nbformat.write(_prepare(stubs, number), submissions / "B_stubs" / path.name)
        mistaken = _with_mistake(
            _solved_by_student(nbformat.read(released, as_version=4), solved), number
        )
        nbformat.write(_prepare(mistaken, number), submissions / "C_mistake" / path.name)
    rows = course_tools.autograde(course, submissions)
    course_tools.print_table(rows, course / "scores.csv")
    return {(r["student"], r["notebook"]): r for r in rows}


def test_every_notebook_has_grading_cases():
    numbers = {p.stem[:2] for p in NOTEBOOKS}
    graded_numbers = {
        p.stem[:2]
        for p in NOTEBOOKS
        if any(c.metadata.get("nbgrader", {}).get("grade") for c in nbformat.read(p, 4).cells)
    }
    assert graded_numbers <= set(MISTAKES), "every notebook with exercises needs a classic mistake"
    assert set(FAST) <= numbers


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_scores(graded, path):
    name = path.stem
    solved, stubs, mistake = (graded[(s, name)] for s in ("A_solved", "B_stubs", "C_mistake"))
    assert solved["max"] > 0
    assert solved["points"] == solved["max"], f"solved {name} lost points: {solved['cells']}"
    assert stubs["points"] == 0 and all(v == 0 for v in stubs["cells"].values()), stubs["cells"]
    lost = {cell for case in _cases(name[:2]) for cell in case[3]}
    for cell, points in mistake["cells"].items():
        expected = 0 if cell in lost else solved["cells"][cell]
        assert points == expected, f"{name}: {cell} scored {points}, expected {expected}"
    assert mistake["points"] == solved["max"] - sum(solved["cells"][c] for c in lost)


def test_csv_written(graded, tmp_path):
    rows = list(graded.values())
    course_tools.print_table(rows, tmp_path / "scores.csv")
    lines = (tmp_path / "scores.csv").read_text().splitlines()
    assert lines[0] == "student,notebook,points,max" and len(lines) == len(rows) + 1
