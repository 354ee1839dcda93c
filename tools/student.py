"""Generate student versions of the notebooks with nbgrader.

The committed notebooks are the instructor's solved versions: solution code sits between
``### BEGIN SOLUTION`` / ``### END SOLUTION`` and graded test cells carry nbgrader metadata.
nbgrader turns them into student versions (solutions replaced by ``raise
NotImplementedError()``, hidden tests removed, outputs cleared, graded cells locked).

Each notebook is its own nbgrader assignment, named after the notebook's stem.

Usage::

    python tools/student.py student [--out student]    # student versions only
    python tools/student.py release [--course course]  # a full nbgrader course directory
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

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
    """Run one nbgrader command inside ``course``."""
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, check=True)


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


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["student", "release"])
    parser.add_argument("--out", type=Path, default=ROOT / "student")
    parser.add_argument("--course", type=Path, default=ROOT / "course")
    parser.add_argument("notebooks", nargs="*", help="notebook number prefixes (default: all)")
    args = parser.parse_args(argv)
    if args.command == "student":
        for path in student(args.out, args.notebooks):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    else:
        for name in release(args.course.resolve(), args.notebooks):
            print(f"released {name} -> {args.course}/release/{name}")


if __name__ == "__main__":
    main()
