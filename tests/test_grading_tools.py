"""The grading tools' parts that need no kernel: collecting, verdicts, reports, the table.

The full pipeline, with kernels, is in test_grading_e2e.py (through nbgrader) and
test_grading_sandbox.py (the kernel probed from inside).
"""

import csv
import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import course as course_tools  # noqa: E402
from grading import nbgrader_plugins, sandbox  # noqa: E402
from grading.guard import MARKER  # noqa: E402
from processes import running  # noqa: E402


def _course(tmp_path: Path, *assignments: str) -> Path:
    course = tmp_path / "course"
    for name in assignments:
        (course / "source" / name).mkdir(parents=True)
    return course


def test_collect_turns_unreadable_and_unknown_notebooks_into_error_rows(tmp_path):
    course = _course(tmp_path, "01_x")
    subs = tmp_path / "subs"
    for student in ("ann", "bob", "cid"):
        (subs / student).mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), subs / "ann" / "01_x.ipynb")
    (subs / "bob" / "01_x.ipynb").write_text('{"cells": [')  # cut short
    (subs / "cid" / "02_y.ipynb").write_text("{}")
    found, errors = course_tools.collect(course, subs)
    assert found == {"01_x": ["ann"]}
    assert (course / "submitted" / "ann" / "01_x" / "01_x.ipynb").exists()
    notes = {(r["student"], r["notebook"]): r["notes"] for r in errors}
    assert "not a readable notebook" in notes[("bob", "01_x")]
    assert "no released assignment" in notes[("cid", "02_y")]
    assert all(r["status"] == "error" and r["points"] == 0 for r in errors)


def test_collect_still_refuses_a_folder_without_submissions(tmp_path):
    course = _course(tmp_path, "01_x")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="found none"):
        course_tools.collect(course, tmp_path / "empty")


def _report(course: Path, student: str, assignment: str, **fields) -> None:
    path = course_tools._report_path(course, student, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"events": [], "measured": True, **fields}))


def test_status_comes_from_the_report(tmp_path):
    course = tmp_path
    _report(course, "ok", "a", sandbox="bwrap")
    assert course_tools._verdict(course, "ok", "a") == {"status": "ok", "notes": ""}
    timeout = {"kind": "timeout", "where": "c", "detail": "c timed out"}
    _report(course, "slow", "a", sandbox="bwrap", events=[timeout])
    assert course_tools._verdict(course, "slow", "a") == {"status": "ok", "notes": "c timed out"}
    tamper = {"kind": "tampering", "where": "c", "detail": "x was replaced"}
    _report(course, "bad", "a", sandbox="bwrap", events=[tamper, tamper])
    assert course_tools._verdict(course, "bad", "a") == {
        "status": "flagged",
        "notes": "x was replaced",
    }
    _report(course, "bare", "a", sandbox="none")
    verdict = course_tools._verdict(course, "bare", "a")
    assert verdict["status"] == "flagged" and "WITHOUT the sandbox" in verdict["notes"]
    assert course_tools._verdict(course, "nobody", "a")["status"] == "flagged"


def test_sweep_removes_links_left_in_a_students_folder(tmp_path):
    (tmp_path / "kept.txt").write_text("x")
    (tmp_path / "leak").symlink_to("/etc/hostname")
    events = course_tools._sweep(tmp_path)
    assert not (tmp_path / "leak").is_symlink() and (tmp_path / "kept.txt").exists()
    assert [e["kind"] for e in events] == ["files"] and "leak" in events[0]["detail"]


def test_the_table_and_csv_carry_status_and_notes(tmp_path, capsys):
    rows = [
        {"student": "a", "notebook": "01", "points": 3.0, "max": 3.0, "status": "ok", "notes": ""},
        {"student": "b", "notebook": "01", "points": 0.0, "max": 3.0, "status": "error",
         "notes": "x" * 200},
    ]  # fmt: skip
    course_tools.print_table(rows, tmp_path / "scores.csv")
    printed = capsys.readouterr().out
    assert "status" in printed and "x" * 77 + "..." in printed
    with (tmp_path / "scores.csv").open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["student", "notebook", "points", "max", "status", "notes"]
    assert lines[2][4:] == ["error", "x" * 200]


def test_no_sandbox_is_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "probe", lambda: "bubblewrap is not installed")
    with pytest.raises(sandbox.SandboxUnavailable, match="--allow-unsandboxed"):
        course_tools.prepare_grading(tmp_path)
    assert course_tools.prepare_grading(tmp_path, allow_unsandboxed=True) == "none"
    spec = json.loads((tmp_path / "grading/kernels/workbook-grading/kernel.json").read_text())
    assert spec["env"]["WORKBOOK_GRADING_MODE"] == "none" and "UNSANDBOXED" in spec["display_name"]


def test_the_launcher_refuses_a_shared_runtime_folder(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o1777)
    with pytest.raises(SystemExit, match="shared"):
        sandbox.check_runtime_dir(shared)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    sandbox.check_runtime_dir(private)


def test_the_sandbox_binds_no_course_and_covers_notebooks(tmp_path):
    work = tmp_path / "course" / "autograded" / "ann" / "01_x"
    work.mkdir(parents=True)
    (work / "01_x.ipynb").write_text("{}")
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    manifest = tmp_path / "m.json"
    manifest.write_text("{}")
    args = sandbox.bwrap_argv(work, runtime, manifest, ["python"])
    binds = [args[i + 2] for i, a in enumerate(args) if a in ("--bind", "--ro-bind")]
    assert str(tmp_path / "course") not in binds and str(work) in binds
    assert args[args.index(str(work / "01_x.ipynb")) - 2] == "--ro-bind"  # covered, read-only
    assert "--unshare-all" in args and "--clearenv" in args and "--disable-userns" in args
    writable = [args[i + 2] for i, a in enumerate(args) if a == "--bind"]
    assert writable == [str(runtime), str(work)]


def _guarded_cell(grade_id: str, outputs=()):
    cell = nbformat.v4.new_code_cell(
        f"pre {grade_id}\ncheck({grade_id})\npost {grade_id}",
        metadata={"nbgrader": {"grade": True, "grade_id": grade_id, "points": 1}},
    )
    guard = {"prelude": f"pre {grade_id}", "epilogue": f"post {grade_id}"}
    cell.metadata[nbgrader_plugins.META] = guard
    cell.outputs = list(outputs)
    return cell


def _verdict(tmp_path, report_text: str | None):
    nb = nbformat.v4.new_notebook()
    error = nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=[])
    nb.cells = [_guarded_cell("done"), _guarded_cell("hidden"), _guarded_cell("failed", [error])]
    if report_text is not None:
        report = nbformat.v4.new_code_cell("report")
        report.metadata[nbgrader_plugins.META] = "report"
        report.outputs = [nbformat.v4.new_output("stream", name="stdout", text=report_text)]
        nb.cells.append(report)
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    resources = {"nbgrader": {"student": "ann", "assignment": "01_x", "notebook": "01_x"}}
    nb, _ = nbgrader_plugins.GuardVerdict(config=config).preprocess(nb, resources)
    saved = json.loads((tmp_path / "grading/reports/ann/01_x/01_x.json").read_text())
    return nb, saved


def test_a_test_that_did_not_reach_the_guard_scores_zero_whatever_it_showed(tmp_path):
    record = {"completed": ["done", "failed"], "events": [], "modules": 1}
    nb, saved = _verdict(tmp_path, f"{MARKER} {json.dumps(record)}\n")
    assert len(nb.cells) == 3  # the report cell is gone
    done, hidden, failed = nb.cells
    assert [c.source for c in nb.cells] == ["check(done)", "check(hidden)", "check(failed)"]
    assert done.outputs == [] and nbgrader_plugins.META not in done.metadata
    assert hidden.outputs[-1]["ename"] == "GradingIntegrityError"
    assert [o["ename"] for o in failed.outputs] == ["AssertionError"]
    assert any("hidden showed no error" in e["detail"] for e in saved["events"])


def test_without_a_report_no_test_is_trusted(tmp_path):
    for text in (None, "no marker here\n", f"{MARKER} {{not json\n"):
        nb, saved = _verdict(tmp_path, text)
        assert all(c.outputs and c.outputs[-1]["output_type"] == "error" for c in nb.cells)
        assert any("no report from the grading guard" in e["detail"] for e in saved["events"])


def _fake_worker(tmp_path, body: str) -> course_tools.GradingWorker:
    worker = course_tools.GradingWorker(tmp_path)
    script = tmp_path / "fake_worker.py"
    script.write_text(f"import json, subprocess, sys, time\nREPLY = {course_tools.REPLY!r}\n{body}")
    worker.command = [sys.executable, str(script)]
    return worker


def test_a_worker_past_its_deadline_is_killed_with_everything_it_started(tmp_path):
    marker = "654.321"
    hang = (
        "for line in sys.stdin:\n"
        f"    subprocess.Popen(['sleep', {marker!r}])\n"
        "    print('working', flush=True)\n"
        "    time.sleep(600)\n"
    )
    worker = _fake_worker(tmp_path, hang)
    success, log = worker.grade("01_x", "ann", deadline=8)  # time to start on a loaded machine
    assert success is None and "working" in log
    assert worker.process is None
    for _ in range(50):  # SIGKILL is delivered asynchronously: give the kernel a moment
        left = running(marker)
        if not left:
            break
        time.sleep(0.1)
    assert not left, "a process the worker started outlived it"


def test_a_worker_grades_one_submission_after_another(tmp_path):
    answer = (
        "for line in sys.stdin:\n"
        "    request = json.loads(line)\n"
        "    print('log of', request['student'])\n"
        "    print(REPLY + json.dumps({'success': request['student'] == 'ann'}), flush=True)\n"
    )
    worker = _fake_worker(tmp_path, answer)
    assert worker.grade("01_x", "ann", deadline=60) == (True, "log of ann\n")
    first = worker.process.pid
    assert worker.grade("01_x", "bob", deadline=60) == (False, "log of bob\n")
    assert worker.process.pid == first  # the same process, no new start-up
    worker.stop(kill=False)
    assert worker.process is None


def test_each_cells_timeout_comes_from_the_solutions_time_for_it():
    execute = nbgrader_plugins.GuardedExecute(timeout_factor=10.0, timeout_margin=30.0)
    execute._cells = {"fast": 0.5, "slow": 12.0}  # as measured at release, per cell id
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.id = "fast"
    assert execute._cell_timeout(cell) == 35  # 10 x 0.5 s + 30 s
    cell.id = "slow"
    assert execute._cell_timeout(cell) == 150
    cell.id = "new"  # a cell the solution did not have: as long as its slowest one
    assert execute._cell_timeout(cell) == 150
    report = nbformat.v4.new_code_cell("report()")
    report.metadata[nbgrader_plugins.META] = "report"
    assert execute._cell_timeout(report) == nbgrader_plugins.REPORT_TIMEOUT


def test_every_student_is_in_the_gradebook_before_the_workers_start(tmp_path, monkeypatch):
    """Two workers grading one new student's notebooks at once must not both add the student
    (nbgrader's gradebook then fails one of them with a UNIQUE constraint error)."""
    from nbgrader.api import Gradebook

    course = _course(tmp_path, "01_x", "02_y")
    subs = tmp_path / "subs" / "ann"
    subs.mkdir(parents=True)
    for name in ("01_x", "02_y"):
        nbformat.write(nbformat.v4.new_notebook(), subs / f"{name}.ipynb")
    found = []

    class Worker:  # stands in for nbgrader: looks the student up, as autograde would
        def __init__(self, course):
            self.db = f"sqlite:///{course / 'gradebook.db'}"

        def grade(self, assignment, student_id, deadline):
            with Gradebook(self.db) as gradebook:
                found.append((assignment, gradebook.find_student(student_id).id))
            return False, "stand-in"

        def stop(self, kill=True):
            pass

    monkeypatch.setattr(course_tools, "GradingWorker", Worker)
    monkeypatch.setenv("PATH", course_tools._env(course)["PATH"])  # a new gradebook runs alembic
    monkeypatch.setattr(course_tools, "prepare_grading", lambda course, allow=False: "bwrap")
    rows = course_tools.autograde(course, subs.parent, workers=2)
    assert sorted(found) == [("01_x", "ann"), ("02_y", "ann")]
    assert [r["status"] for r in rows] == ["error", "error"]  # the stand-in grades nothing


def test_a_worker_dies_with_the_autograde_process_that_started_it(tmp_path):
    """Killed, ``autograde`` leaves no worker behind grading (and holding a kernel)."""
    import os
    import signal
    import subprocess
    import time

    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    worker = ROOT / "tools" / "grading" / "worker.py"
    # The worker's requests come through a pipe this test also holds open, so its parent's
    # death closes nothing: like a worker busy grading, it sees no end of input.
    requests, held = os.pipe()
    parent = (  # stands for autograde: starts a worker (which waits for requests), then waits
        "import subprocess, sys, time\n"
        f"w = subprocess.Popen([sys.executable, {str(worker)!r}, {str(course)!r}],"
        f" stdin={requests}, start_new_session=True)\n"
        "print(w.pid, flush=True)\ntime.sleep(600)\n"
    )
    autograde = subprocess.Popen(
        [sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, pass_fds=[requests]
    )
    os.close(requests)
    pid = int(autograde.stdout.readline())
    time.sleep(5)  # the worker is up, reading its requests
    assert Path(f"/proc/{pid}").exists(), "the worker did not start"
    os.kill(autograde.pid, signal.SIGKILL)
    autograde.wait()
    try:
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("the worker outlived autograde")
    finally:
        os.close(held)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
