"""The instructor's side of the workbook, on real nbgrader: student versions, release, autograde.

The committed notebooks are the instructor's solved versions: solution code sits between
``### BEGIN SOLUTION`` / ``### END SOLUTION`` and graded test cells carry nbgrader metadata.
nbgrader turns them into student versions (solutions replaced by ``raise
NotImplementedError()``, hidden tests removed, outputs cleared, graded cells locked).

Each notebook is its own nbgrader assignment, named after the notebook's stem.

Usage::

    python tools/course.py student [--out student]     # student versions only
    python tools/course.py release [--course course]   # a full nbgrader course directory
    python tools/course.py autograde SUBMISSIONS [--course course] [--csv scores.csv]

``SUBMISSIONS`` holds one folder per student with that student's notebooks
(``SUBMISSIONS/<student>/<NN_topic>.ipynb``). Autograde copies them into the course's
``submitted/`` folder, runs ``nbgrader autograde`` per assignment, then prints a score
table (student, notebook, points, max) and writes it as CSV.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))

from workbook.atomic import atomic_open  # noqa: E402

CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "special-applications"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.Execute.timeout = 1800
"""


def notebooks(stems: list[str] | None = None) -> list[Path]:
    """The committed notebooks (all, or those whose names start with one of ``stems``)."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if stems:
        found = [p for p in found if any(p.stem.startswith(s) for s in stems)]
    return found


def make_course(course: Path, stems: list[str] | None = None) -> list[str]:
    """Lay out an nbgrader course directory: ``source/<stem>/<stem>.ipynb`` and its config.

    Returns the assignment names.
    """
    course.mkdir(parents=True, exist_ok=True)
    names = []
    for nb in notebooks(stems):
        target = course / "source" / nb.stem
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb, target / nb.name)
        names.append(nb.stem)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course)))
    return names


def nbgrader(course: Path, *args: str) -> None:
    """Run one nbgrader command inside ``course``.

    nbgrader runs the ``alembic`` script of its environment by name, so that environment's
    ``bin`` folder goes first on PATH even when the virtual environment is not activated.
    """
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, check=True, env=env)


def release(course: Path, stems: list[str] | None = None) -> list[str]:
    """Create the course directory and generate every assignment into ``course/release``."""
    names = make_course(course, stems)
    for name in names:
        nbgrader(course, "generate_assignment", name, "--force", "--log-level=WARN")
    return names


def student(out: Path, stems: list[str] | None = None) -> list[Path]:
    """Write the student version of each notebook to ``out/<stem>.ipynb``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        for name in release(course, stems):
            target = out / f"{name}.ipynb"
            shutil.copy2(course / "release" / name / f"{name}.ipynb", target)
            written.append(target)
    return written


def collect(course: Path, submissions: Path) -> dict[str, list[str]]:
    """Copy ``submissions/<student>/<stem>.ipynb`` into nbgrader's ``submitted/`` layout.

    Returns ``{assignment: [students]}`` for the notebooks that were submitted.
    """
    released = {p.name for p in (course / "source").iterdir()}
    found: dict[str, list[str]] = {}
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for nb in sorted(folder.glob("*.ipynb")):
            if nb.stem not in released:
                raise ValueError(
                    f"{nb}: no released assignment {nb.stem!r}; known: {sorted(released)}"
                )
            target = course / "submitted" / folder.name / nb.stem
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            shutil.copy2(nb, target / nb.name)
            found.setdefault(nb.stem, []).append(folder.name)
    if not found:
        raise ValueError(f"{submissions}: expected <student>/<NN_topic>.ipynb files, found none")
    return found


def scores(course: Path) -> list[dict]:
    """Read every autograded submission's points from the course gradebook.

    Returns rows ``{"student", "notebook", "points", "max", "cells"}``, where ``cells``
    maps each graded cell's ``grade_id`` to its points.
    """
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                for notebook in submission.notebooks:
                    cells = {}
                    for grade in notebook.grades:
                        try:
                            cells[grade.name] = grade.score
                        except MissingEntry:  # pragma: no cover - ungraded cell
                            cells[grade.name] = 0.0
                    rows.append(
                        {
                            "student": submission.student_id,
                            "notebook": notebook.name,
                            "points": notebook.score,
                            "max": notebook.max_score,
                            "cells": cells,
                        }
                    )
    return sorted(rows, key=lambda r: (r["student"], r["notebook"]))


def autograde(course: Path, submissions: Path) -> list[dict]:
    """Release (if needed), collect ``submissions``, autograde them and return the score rows."""
    if not (course / "source").is_dir():
        release(course)
    for assignment, students in collect(course, submissions).items():
        for student_id in students:
            nbgrader(
                course,
                "autograde",
                assignment,
                "--student",
                student_id,
                "--force",
                "--log-level=WARN",
            )
    return scores(course)


def print_table(rows: list[dict], csv_path: Path | None = None) -> None:
    """Print the score table and, when asked, write it as CSV (atomically)."""
    width = max([len(r["notebook"]) for r in rows] + [8])
    print(f"{'student':<12} {'notebook':<{width}} {'points':>6} {'max':>5}")
    for r in rows:
        print(f"{r['student']:<12} {r['notebook']:<{width}} {r['points']:6.1f} {r['max']:5.1f}")
    if csv_path:
        with atomic_open(csv_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "notebook", "points", "max"])
            writer.writerows([r["student"], r["notebook"], r["points"], r["max"]] for r in rows)
        print(f"wrote {csv_path}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["student", "release", "autograde"])
    parser.add_argument("--out", type=Path, default=ROOT / "student")
    parser.add_argument("--course", type=Path, default=ROOT / "course")
    parser.add_argument("--csv", type=Path, default=None, help="autograde: also write scores here")
    parser.add_argument(
        "notebooks", nargs="*", help="notebook number prefixes; for autograde: the submissions dir"
    )
    args = parser.parse_intermixed_args(argv)
    if args.command == "autograde":
        if len(args.notebooks) != 1:
            parser.error("autograde takes one argument: the submissions folder")
        rows = autograde(args.course.resolve(), Path(args.notebooks[0]).resolve())
        print_table(rows, args.csv or args.course / "scores.csv")
        return
    if args.command == "student":
        for path in student(args.out, args.notebooks):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    else:
        for name in release(args.course.resolve(), args.notebooks):
            print(f"released {name} -> {args.course}/release/{name}")


if __name__ == "__main__":
    main()
