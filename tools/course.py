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
``submitted/`` folder, runs ``nbgrader autograde`` per submission on the sandboxed, guarded
``workbook-grading`` kernel (see ``tools/grading``), then prints a score table (student,
notebook, points, max, status, notes) and writes it as CSV. Status ``ok``: graded, nothing to
report; ``flagged``: graded, but read the notes (tampering found and undone, edited or deleted
test cells, no sandbox); ``error``: not graded (unreadable notebook, grading crashed or ran out
of time), 0 points. Exit status: 0 when every row is ``ok``, 1 when some need a look, 2 on a
usage error.

Release also grades the reference solution once, through the same pipeline (the release
copy with the solutions typed back in, as a student would): the release fails unless it gets
full marks with nothing flagged, and the time of every cell becomes its timeout basis
(``course/grading/timings/<assignment>.json``). ``--no-measure`` skips that; autograde then
falls back to nbgrader's fixed timeout and says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from grading import sandbox  # noqa: E402
from grading.worker import REPLY  # noqa: E402

from workbook.atomic import atomic_open  # noqa: E402

CONFIG = """\
import sys

sys.path[:0] = [{root!r}, {tools!r}]
from grading.nbgrader_plugins import (  # noqa: E402
    GuardCells,
    GuardedExecute,
    GuardVerdict,
    ReleasedOverwriteCells,
)
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821
c.CourseDirectory.root = {course!r}
c.CourseDirectory.course_id = "special-applications"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
# Grading: the sandboxed, guarded kernel (tools/grading); per-cell timeouts from the solution's
# own times (course/grading/timings); this timeout only when release did not measure them.
c.Execute.timeout = {fallback_timeout}
c.Execute.startup_timeout = 300
c.Execute.kernel_name = "workbook-grading"
c.KernelManager.transport = "ipc"  # the sandbox has no network, not even the host's loopback
c.OverwriteCells.add_missing_cells = True
c.GuardedExecute.timeout_factor = {factor}
c.GuardedExecute.timeout_margin = {margin}
c.GuardedExecute.interrupt_grace = {grace}
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    ReleasedOverwriteCells,
    CheckCellMetadata,
    GuardCells,
]
c.Autograde.autograde_preprocessors = [
    GuardedExecute,
    GuardVerdict,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
"""
FALLBACK_TIMEOUT = 1800  # seconds per cell when release did not measure the solution
TIMEOUT_FACTOR = 10.0  # per-cell timeout = factor x the solution's time + margin
TIMEOUT_MARGIN = 30.0
INTERRUPT_GRACE = 20.0  # seconds a kernel has to answer after a timeout's interrupt
JOB_STARTUP = 300  # seconds a grading job may take besides its cells
SOLUTION_STUDENT = "_solution"  # the release check's pseudo-student (in a throwaway course)
#: Report event kinds that make a row "flagged" (timeouts and kernel notes do not).
FLAGGING = {"tampering", "import", "integrity", "cells", "files", "sandbox"}


def notebooks(stems: list[str] | None = None) -> list[Path]:
    """The committed notebooks (all, or those whose names start with one of ``stems``)."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if stems:
        found = [p for p in found if any(p.stem.startswith(s) for s in stems)]
    return found


def write_config(course: Path) -> None:
    """Write ``course/nbgrader_config.py`` for a course directory at ``course``."""
    text = CONFIG.format(
        root=str(ROOT),
        tools=str(ROOT / "tools"),
        course=str(course),
        fallback_timeout=FALLBACK_TIMEOUT,
        factor=TIMEOUT_FACTOR,
        margin=TIMEOUT_MARGIN,
        grace=INTERRUPT_GRACE,
    )
    with atomic_open(course / "nbgrader_config.py", "w") as handle:
        handle.write(text)


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
    write_config(course)
    return names


def _env(course: Path, runtime: str | None = None) -> dict[str, str]:
    """nbgrader's environment: this interpreter's ``bin`` first on PATH (nbgrader runs
    ``alembic`` by name), the course's kernelspecs on JUPYTER_PATH, a private runtime folder."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    paths = [str(course / "grading"), os.environ.get("JUPYTER_PATH", "")]
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
    if runtime:
        env["JUPYTER_RUNTIME_DIR"] = runtime
    env["PYTHONWARNINGS"] = "ignore:::nbgrader.api"  # SQLAlchemy warnings nbgrader triggers
    return env


def _api(course: Path):
    """nbgrader's Python API on ``course`` with its config (one process for many commands)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return NbGraderAPI(config=config)


def generate(course: Path, names: list[str]) -> None:
    """``nbgrader generate_assignment`` for each of ``names``, in this process.

    Raises:
        RuntimeError: with nbgrader's log, when an assignment cannot be generated.
    """
    os.environ["PATH"] = _env(course)["PATH"]  # nbgrader runs alembic by name
    api = _api(course)
    for name in names:
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result['log']}")


def release(
    course: Path,
    stems: list[str] | None = None,
    *,
    measure: bool = True,
    parameters: Mapping[str, str] | None = None,
    workers: int = 1,
) -> list[str]:
    """Create the course directory and generate every assignment into ``course/release``.

    Args:
        course: the course directory (created).
        stems: notebook number prefixes (default: all notebooks).
        measure: also grade the reference solution once (see `measure_solution`).
        parameters: for the measurement, lines appended to each notebook's parameters cell,
            by notebook number (tests use small sizes).
        workers: notebooks measured in parallel.

    Returns the assignment names.
    """
    names = make_course(course, stems)
    generate(course, names)
    if measure:
        measure_solution(course, names, parameters=parameters, workers=workers)
    return names


def student(out: Path, stems: list[str] | None = None) -> list[Path]:
    """Write the student version of each notebook to ``out/<stem>.ipynb``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        for name in release(course, stems, measure=False):
            target = out / f"{name}.ipynb"
            shutil.copy2(course / "release" / name / f"{name}.ipynb", target)
            written.append(target)
    return written


# -- submissions ------------------------------------------------------------------------------
def solved_submission(released, solved):
    """The release copy with each stub replaced by the reference solution, as a student would."""
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in solved.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            kept = [line for line in answers[grade_id].splitlines() if "### " not in line]
            cell.source = "\n".join(kept)
    return released


def with_parameters(nb, lines: str | None):
    """Append ``lines`` to the notebook's parameters cell (as a student may edit it)."""
    if lines:
        for cell in nb.cells:
            if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
                cell.source += "\n" + lines
    return nb


def collect(course: Path, submissions: Path) -> tuple[dict[str, list[str]], list[dict]]:
    """Copy ``submissions/<student>/<stem>.ipynb`` into nbgrader's ``submitted/`` layout.

    Returns ``({assignment: [students]}, error rows)``: a notebook that is not a released
    assignment, or cannot be read as a notebook, becomes an error row, not an abort.
    """
    released = {p.name for p in (course / "source").iterdir()}
    found: dict[str, list[str]] = {}
    errors = []
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for nb in sorted(folder.glob("*.ipynb")):
            if nb.stem not in released:
                why = f"no released assignment {nb.stem!r}"
                errors.append(_error_row(folder.name, nb.stem, why, course))
                continue
            try:
                nbformat.validate(nbformat.read(nb, as_version=4))
            except Exception as error:  # any unreadable file: report it, grade the others
                why = f"not a readable notebook ({type(error).__name__}: {str(error)[:120]})"
                errors.append(_error_row(folder.name, nb.stem, why, course))
                continue
            target = course / "submitted" / folder.name / nb.stem
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            shutil.copy2(nb, target / nb.name)
            found.setdefault(nb.stem, []).append(folder.name)
    if not found and not errors:
        raise ValueError(f"{submissions}: expected <student>/<NN_topic>.ipynb files, found none")
    return found, errors


# -- grading ----------------------------------------------------------------------------------
def prepare_grading(course: Path, allow_unsandboxed: bool = False) -> str:
    """Write the grading kernelspec and package manifest; return the sandbox mode.

    Raises:
        sandbox.SandboxUnavailable: bubblewrap cannot run here and ``allow_unsandboxed`` is
            False (the message says how to install it, or to pass ``--allow-unsandboxed``).
    """
    folder = course / "grading"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.json"
    with atomic_open(manifest, "w") as handle:
        json.dump(sandbox.package_manifest(), handle, indent=0)
    reason = sandbox.probe()
    if reason and not allow_unsandboxed:
        raise sandbox.SandboxUnavailable(
            f"cannot sandbox the grading kernel: {reason}. Install bubblewrap (apt-get install"
            " bubblewrap), or pass --allow-unsandboxed to grade without isolation (every row"
            " is then flagged)."
        )
    mode = "none" if reason else "bwrap"
    sandbox.write_kernelspec(folder, mode, manifest)
    with atomic_open(folder / "mode.json", "w") as handle:
        json.dump({"mode": mode, "reason": reason}, handle)
    return mode


def _job_deadline(course: Path, assignment: str) -> float | None:
    path = course / "grading" / "timings" / f"{assignment}.json"
    if not path.exists():
        return None
    cells = json.loads(path.read_text())["cells"].values()
    per_cell = sum(TIMEOUT_FACTOR * t + TIMEOUT_MARGIN for t in cells)
    return 2 * per_cell + INTERRUPT_GRACE + JOB_STARTUP


def _sweep(folder: Path) -> list[dict]:
    """Remove links and special files a kernel left in its folder (outside tools follow them)."""
    events = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            kind = "symbolic link" if path.is_symlink() else "special file"
            detail = f"the notebook left a {kind} {path.relative_to(folder)} (removed)"
            events.append({"kind": "files", "where": "end", "detail": detail})
            path.unlink()
    return events


def _report_path(course: Path, student_id: str, assignment: str) -> Path:
    return course / "grading" / "reports" / student_id / assignment / f"{assignment}.json"


class GradingWorker:
    """One long-lived nbgrader process (`grading.worker`): grades submissions one at a time.

    `grade` sends a request and waits for the reply at most ``deadline`` seconds; past it, the
    worker's whole process group is killed (the kernel dies with it) and a fresh worker is
    started for the next submission.
    """

    def __init__(self, course: Path):
        self.course = course
        self.command = [sys.executable, str(ROOT / "tools" / "grading" / "worker.py"), str(course)]
        self.process: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()

    def _start(self) -> None:
        self.lines = queue.Queue()
        self.process = subprocess.Popen(
            self.command,
            cwd=self.course,
            env=_env(self.course),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines, stdout = self.lines, self.process.stdout
        threading.Thread(target=lambda: _pump(stdout, lines), daemon=True).start()

    def grade(self, assignment: str, student_id: str, deadline: float | None):
        """Autograde one submission; return (True/False: nbgrader's success, or None: killed
        at the deadline; nbgrader's log)."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        runtime = tempfile.mkdtemp(prefix="wbk-")  # short: it holds the kernel's socket files
        request = {"assignment": assignment, "student": student_id, "runtime": runtime}
        log: list[str] = []
        end = None if deadline is None else time.monotonic() + deadline
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            while True:
                left = None if end is None else max(0.0, end - time.monotonic())
                try:
                    line = self.lines.get(timeout=left)
                except queue.Empty:
                    self.stop()
                    return None, "".join(log)
                if line is None:  # the worker died
                    self.process = None
                    return False, "".join(log)
                if line.startswith(REPLY):
                    return json.loads(line[len(REPLY) :])["success"], "".join(log)
                log.append(line)
        except BrokenPipeError:
            self.process = None
            return False, "".join(log)
        finally:
            shutil.rmtree(runtime, ignore_errors=True)

    def stop(self, kill: bool = True) -> None:
        """End the worker: kill its process group, or let it finish (``kill=False``)."""
        if self.process is None:
            return
        if kill:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.stdin.close()
        self.process.wait()
        self.process = None


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _grade_one(
    worker: GradingWorker, course: Path, assignment: str, student_id: str, mode: str
) -> str | None:
    """Autograde one submission with ``worker``; return None, or why it was not graded."""
    report = _report_path(course, student_id, assignment)
    report.unlink(missing_ok=True)
    deadline = _job_deadline(course, assignment)
    success, log = worker.grade(assignment, student_id, deadline)
    if success is None:
        return f"grading ran past its {deadline:.0f} s limit and was stopped"
    sys.stdout.write(_quiet(log))
    if not success or not report.exists():
        lines = [line for line in log.splitlines() if line.strip() and "Traceback" not in line]
        return "nbgrader failed: " + (lines[-1][:200] if lines else "no log")
    data = json.loads(report.read_text())
    data["events"] += _sweep(course / "autograded" / student_id / assignment)
    data["sandbox"] = mode
    with atomic_open(report, "w") as handle:
        json.dump(data, handle, indent=1)
    return None


def _quiet(log: str) -> str:
    """nbgrader's log without the lines every run prints."""
    noise = ("Kernel is running over", "jupyter_client", "Timeout waiting", "Interrupting kernel")
    kept = [line for line in log.splitlines(True) if not any(n in line for n in noise)]
    return "".join(line for line in kept if not line.startswith(("[INFO]", "[DEBUG]")))


def _error_row(student_id: str, notebook: str, why: str, course: Path | None = None) -> dict:
    points = 0.0
    maximum = _max_score(course, notebook) if course else 0.0
    return {
        "student": student_id,
        "notebook": notebook,
        "points": points,
        "max": maximum,
        "cells": {},
        "status": "error",
        "notes": why,
    }


def _max_score(course: Path, notebook: str) -> float:
    from nbgrader.api import Gradebook, MissingEntry

    db = course / "gradebook.db"
    if not db.exists():
        return 0.0
    with Gradebook(f"sqlite:///{db}") as gradebook:
        try:
            return float(gradebook.find_notebook(notebook, notebook).max_score)
        except MissingEntry:
            return 0.0


def _forget(course: Path, assignment: str, student_id: str) -> None:
    """Drop a submission from the gradebook, so no stale score outlives a failed regrade."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        try:
            gradebook.remove_submission(assignment, student_id)
        except MissingEntry:
            pass


def scores(course: Path) -> list[dict]:
    """Read every autograded submission's points from the gradebook, with its grading report.

    Returns rows ``{"student", "notebook", "points", "max", "cells", "status", "notes"}``,
    where ``cells`` maps each graded cell's ``grade_id`` to its points and ``notes`` says what
    the grading found (see the module docstring for ``status``).
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
                    row = {
                        "student": submission.student_id,
                        "notebook": notebook.name,
                        "points": notebook.score,
                        "max": notebook.max_score,
                        "cells": cells,
                    }
                    row.update(_verdict(course, submission.student_id, assignment.name))
                    rows.append(row)
    return sorted(rows, key=lambda r: (r["student"], r["notebook"]))


def _verdict(course: Path, student_id: str, assignment: str) -> dict:
    """``status`` and ``notes`` of a graded submission, from its grading report."""
    path = _report_path(course, student_id, assignment)
    if not path.exists():
        return {"status": "flagged", "notes": "no grading report (graded by another tool?)"}
    report = json.loads(path.read_text())
    events = list(report["events"])
    if report.get("sandbox") == "none":
        events.append({"kind": "sandbox", "detail": "graded WITHOUT the sandbox"})
    if not report.get("measured"):
        events.append({"kind": "timeout", "detail": "no per-cell timeouts (release unmeasured)"})
    notes = list(dict.fromkeys(e["detail"] for e in events))
    flagged = any(e["kind"] in FLAGGING for e in events)
    return {"status": "flagged" if flagged else "ok", "notes": "; ".join(notes)}


def autograde(
    course: Path, submissions: Path, *, workers: int = 1, allow_unsandboxed: bool = False
) -> list[dict]:
    """Release (if needed), collect ``submissions``, autograde them and return the score rows.

    Submissions are graded ``workers`` at a time, each by a long-lived nbgrader process
    (`GradingWorker`), each in its own kernel; one that cannot be graded, or overruns its
    deadline, gets an error row and the others are still graded.
    """
    if not (course / "source").is_dir():
        release(course)
    mode = prepare_grading(course, allow_unsandboxed)
    before = sandbox.package_manifest()
    found, errors = collect(course, submissions)
    jobs = [(a, s) for a, students in found.items() for s in students]
    _enrol(course, {s for _, s in jobs})

    idle: queue.Queue = queue.Queue()
    pool_size = max(1, min(workers, len(jobs)))
    for _ in range(pool_size):
        idle.put(GradingWorker(course))

    def run(job):
        worker = idle.get()
        try:
            return job, _grade_one(worker, course, job[0], job[1], mode)
        finally:
            idle.put(worker)

    try:
        with ThreadPoolExecutor(max_workers=pool_size) as pool:
            for (assignment, student_id), why in pool.map(run, jobs):
                if why:
                    _forget(course, assignment, student_id)
                    errors.append(_error_row(student_id, assignment, why, course))
    finally:
        while not idle.empty():
            idle.get().stop(kill=False)
    rows = [r for r in scores(course) if (r["student"], r["notebook"]) not in _keys(errors)]
    if sandbox.package_manifest() != before:  # only possible without the sandbox
        for row in rows:
            row["status"] = "flagged"
            row["notes"] = "the project's files changed during grading; " + row["notes"]
    return sorted(rows + errors, key=lambda r: (r["student"], r["notebook"]))


def _enrol(course: Path, students: set[str]) -> None:
    """Add the students to the gradebook before grading: two workers that autograde one new
    student's notebooks at the same time would both add the student, and one would fail."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student_id in sorted(students):
            gradebook.update_or_create_student(student_id)


def _keys(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["student"], r["notebook"]) for r in rows}


def measure_solution(
    course: Path,
    names: list[str],
    *,
    parameters: Mapping[str, str] | None = None,
    workers: int = 1,
    allow_unsandboxed: bool = False,
) -> list[dict]:
    """Grade the reference solution of each assignment once and keep its per-cell times.

    The release copy, with the solutions typed back in (`solved_submission`), is autograded
    through the same pipeline as a student's, in a throwaway copy of the course (the real
    gradebook never sees it). Each cell's run time goes to
    ``course/grading/timings/<assignment>.json``, the basis of that cell's timeout.

    Returns the score rows (student `SOLUTION_STUDENT`).

    Raises:
        RuntimeError: the solution did not get full marks with nothing flagged.
    """
    parameters = parameters or {}
    with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
        check = Path(tmp) / "course"
        check.mkdir()
        for part in ("source", "release"):
            shutil.copytree(course / part, check / part)
        shutil.copy2(course / "gradebook.db", check / "gradebook.db")
        write_config(check)
        submissions = Path(tmp) / "submissions" / SOLUTION_STUDENT
        submissions.mkdir(parents=True)
        for name in names:
            solved = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
            released = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
            answer = with_parameters(solved_submission(released, solved), parameters.get(name[:2]))
            nbformat.write(answer, submissions / f"{name}.ipynb")
        start = time.monotonic()
        rows = autograde(
            check, submissions.parent, workers=workers, allow_unsandboxed=allow_unsandboxed
        )
        print(f"release check: {len(names)} solution(s) graded in {time.monotonic() - start:.0f} s")
        timings = course / "grading" / "timings"
        timings.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = _report_path(check, SOLUTION_STUDENT, name)
            if not path.exists():
                why = next((r["notes"] for r in rows if r["notebook"] == name), "no report")
                raise RuntimeError(f"the reference solution of {name} was not graded: {why}")
            report = json.loads(path.read_text())
            record = {
                "cells": report["times"],
                "parameters": parameters.get(name[:2], ""),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "load_average": os.getloadavg()[0],
            }
            with atomic_open(timings / f"{name}.json", "w") as handle:
                json.dump(record, handle, indent=1)
    for row in rows:  # the release check is what measures the timeouts
        row["notes"] = "; ".join(
            n for n in row["notes"].split("; ") if n and "release unmeasured" not in n
        )
    _check_solution(rows)
    return rows


def _check_solution(rows: list[dict]) -> None:
    """Raise RuntimeError unless every solution row has full marks with nothing flagged."""
    unsandboxed = "WITHOUT the sandbox"
    bad = [
        r
        for r in rows
        if r["points"] != r["max"]
        or r["status"] == "error"
        or (r["status"] == "flagged" and unsandboxed not in r["notes"])
    ]
    if bad:
        detail = "; ".join(f"{r['notebook']}: {r['points']}/{r['max']} {r['notes']}" for r in bad)
        raise RuntimeError(f"the reference solution does not pass its own grading: {detail}")


def solution_from_executed(
    course: Path, names: list[str], results: Path
) -> tuple[list[dict], list[str]]:
    """The reference solution's score and per-cell times from an nbval run, not a new one.

    ``results`` holds what ``workbook.nbval_policy`` recorded while nbval executed the
    committed notebooks (``WORKBOOK_NBVAL_RESULTS``): the solved notebook with its hidden tests,
    every cell's time and whether it raised. A graded test cell that ran without an error earns
    its points, the rule nbgrader applies; the times become the timeout basis
    (``course/grading/timings``), as `measure_solution` would write them. The cell ids of the
    release copy are those of the committed notebook, so the times apply cell by cell.

    Returns ``(rows, names without a usable record)``: an assignment whose notebook changed
    since it was recorded, or whose run was cut short, is left to `measure_solution`.

    Raises:
        RuntimeError: a recorded solution did not get full marks.
    """
    from workbook.nbval_policy import executed_results

    rows, missing = [], []
    timings = course / "grading" / "timings"
    timings.mkdir(parents=True, exist_ok=True)
    for name in names:
        record = executed_results(results, NOTEBOOKS / f"{name}.ipynb")
        if record is None:
            missing.append(name)
            continue
        graded = [c for c in record["cells"].values() if "grade_id" in c]
        cells = {c["grade_id"]: 0.0 if c["error"] else c["points"] for c in graded}
        times = {cell_id: c["seconds"] for cell_id, c in record["cells"].items()}
        entry = {
            "cells": times,
            "parameters": "",
            "measured_by": "nbval",
            "sha256": record["sha256"],
        }
        with atomic_open(timings / f"{name}.json", "w") as handle:
            json.dump(entry, handle, indent=1)
        row = {"student": SOLUTION_STUDENT, "notebook": name, "points": sum(cells.values())}
        row.update(max=_max_score(course, name), cells=cells, status="ok", notes="")
        row["measured_by"] = "nbval"
        rows.append(row)
    _check_solution(rows)
    return rows, missing


def print_table(rows: list[dict], csv_path: Path | None = None) -> None:
    """Print the score table and, when asked, write it as CSV (atomically)."""
    width = max([len(r["notebook"]) for r in rows] + [8])
    print(f"{'student':<12} {'notebook':<{width}} {'points':>6} {'max':>5} {'status':<7} notes")
    for r in rows:
        notes = r["notes"] if len(r["notes"]) <= 80 else r["notes"][:77] + "..."
        print(
            f"{r['student']:<12} {r['notebook']:<{width}} {r['points']:6.1f} {r['max']:5.1f}"
            f" {r['status']:<7} {notes}"
        )
    if csv_path:
        with atomic_open(csv_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student", "notebook", "points", "max", "status", "notes"])
            writer.writerows(
                [r["student"], r["notebook"], r["points"], r["max"], r["status"], r["notes"]]
                for r in rows
            )
        print(f"wrote {csv_path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["student", "release", "autograde"])
    parser.add_argument("--out", type=Path, default=ROOT / "student")
    parser.add_argument("--course", type=Path, default=ROOT / "course")
    parser.add_argument("--csv", type=Path, default=None, help="autograde: also write scores here")
    parser.add_argument("--workers", type=int, default=1, help="submissions graded at once")
    parser.add_argument(
        "--no-measure", action="store_true", help="release: do not grade the solution"
    )
    parser.add_argument(
        "--allow-unsandboxed",
        action="store_true",
        help="autograde without bubblewrap when it cannot run (every row is flagged)",
    )
    parser.add_argument(
        "notebooks", nargs="*", help="notebook number prefixes; for autograde: the submissions dir"
    )
    args = parser.parse_intermixed_args(argv)
    if args.command == "autograde":
        if len(args.notebooks) != 1:
            parser.error("autograde takes one argument: the submissions folder")
        try:
            rows = autograde(
                args.course.resolve(),
                Path(args.notebooks[0]).resolve(),
                workers=args.workers,
                allow_unsandboxed=args.allow_unsandboxed,
            )
        except (sandbox.SandboxUnavailable, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print_table(rows, args.csv or args.course / "scores.csv")
        return 0 if all(r["status"] == "ok" for r in rows) else 1
    if args.command == "student":
        for path in student(args.out, args.notebooks):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    else:
        names = release(
            args.course.resolve(), args.notebooks, measure=not args.no_measure, workers=args.workers
        )
        for name in names:
            print(f"released {name} -> {args.course}/release/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
