"""The grading kernel, probed from inside: what the sandbox hides and what the guard undoes.

One kernel is started with the ``workbook-grading`` kernelspec, in a student folder of a fake
course (its ``source/`` and ``gradebook.db`` beside it, as in nbgrader's layout), and every
test runs code in it as a hostile notebook would. The end-to-end grading test
(test_grading_e2e.py) shows the same defences through nbgrader with real submissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from grading import nbgrader_plugins, sandbox  # noqa: E402
from processes import proc_text, running  # noqa: E402

UNAVAILABLE = sandbox.probe()
if UNAVAILABLE and os.environ.get("CI"):  # CI installs bubblewrap (.ci/run): it must work there
    raise RuntimeError(f"the grading sandbox must work in CI: {UNAVAILABLE}")
pytestmark = pytest.mark.skipif(bool(UNAVAILABLE), reason=f"no sandbox here: {UNAVAILABLE}")

SECRET = "WORKBOOK_TEST_SECRET"


class Kernel:
    """A grading kernel and a blocking client: ``run(code)`` returns (stdout, error name)."""

    def __init__(self, course: Path, workdir: Path, runtime: Path, mode: str = "bwrap"):
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        manifest = course / "grading" / "manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps(sandbox.package_manifest()))
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        specs = sandbox.write_kernelspec(course / "grading", mode, manifest).parent
        self.km = KernelManager(
            kernel_name="workbook-grading",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
            transport="ipc",
            ip=str(runtime / "kernel-ipc"),
            connection_file=str(runtime / "kernel.json"),
        )
        self.km.start_kernel(cwd=str(workdir), env={**os.environ, SECRET: "leaked"})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=600)

    def run(self, code: str) -> tuple[str, str | None]:
        out, error = [], []

        def hook(msg):
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                error.append(msg["content"]["ename"])

        reply = self.kc.execute_interactive(code, timeout=300, output_hook=hook)
        if reply["content"]["status"] == "error" and not error:
            error.append(reply["content"]["ename"])
        return "".join(out), (error[0] if error else None)

    def value(self, expression: str):
        out, error = self.run(f"print(repr({expression}))")
        assert error is None, f"{expression} raised {error}"
        return eval(out.strip())  # our own repr of simple values

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    base = Path(os.path.realpath(tmp_path_factory.mktemp("course")))
    course = base / "course"
    (course / "source" / "01_x").mkdir(parents=True)
    (course / "source" / "01_x" / "01_x.ipynb").write_text('{"hidden": "tests"}')
    (course / "gradebook.db").write_text("grades")
    workdir = course / "autograded" / "alice" / "01_x"
    workdir.mkdir(parents=True)
    (workdir / "01_x.ipynb").write_text('{"cells": "with hidden tests"}')
    (course / "autograded" / "bob" / "01_x").mkdir(parents=True)
    (course / "autograded" / "bob" / "01_x" / "answer.txt").write_text("bob's")
    runtime = Path(os.path.realpath(tmp_path_factory.mktemp("rt")))
    return {"course": course, "workdir": workdir, "runtime": runtime}


@pytest.fixture(scope="module")
def kernel(layout):
    k = Kernel(layout["course"], layout["workdir"], layout["runtime"])
    k.run("import os")
    yield k
    k.close()


def _opens(kernel, path: str) -> str | None:
    return kernel.run(f"open({str(path)!r}).read()")[1]


def test_the_course_and_other_students_are_not_there(kernel, layout):
    course = layout["course"]
    assert _opens(kernel, course / "source" / "01_x" / "01_x.ipynb") == "FileNotFoundError"
    assert _opens(kernel, course / "gradebook.db") == "FileNotFoundError"
    assert _opens(kernel, course / "autograded" / "bob" / "01_x" / "answer.txt") == (
        "FileNotFoundError"
    )
    assert kernel.value(f"os.path.exists({str(course / 'source')!r})") is False
    assert kernel.value("os.path.exists('../../../source')") is False


def test_the_graded_notebook_itself_reads_empty(kernel):
    assert kernel.value("open('01_x.ipynb').read()") == ""


def test_home_secrets_and_host_files_are_not_there(kernel):
    kernel.run("import os")
    assert kernel.value("os.path.exists('/root/.ssh')") is False
    assert kernel.value("os.path.exists('/etc/shadow')") is False
    assert kernel.value("os.path.exists('/etc/passwd')") is False
    assert kernel.value(f"os.environ.get({SECRET!r})") is None
    assert kernel.value("os.environ['HOME']") == "/tmp/home"


def test_no_write_outside_its_folder(kernel, layout):
    for target in (ROOT / "fr_utils" / "x.py", Path(sys.prefix) / "x", ROOT / "x"):
        error = kernel.run(f"open({str(target)!r}, 'w').write('x')")[1]
        assert not target.exists(), target  # nothing reaches the machine's files
        if target.parent == ROOT and ROOT.is_relative_to("/tmp"):
            # a clone under /tmp: only the packages are bound into the sandbox's private /tmp,
            # so the repository's own folder there is the sandbox's tmpfs, gone with it
            continue
        assert error == "OSError", (target, error)  # read-only file system
    # the course (here under /tmp) is not there: a write lands in the sandbox's own /tmp
    kernel.run(f"os.makedirs({str(layout['course'])!r}, exist_ok=True)")
    kernel.run(f"open({str(layout['course'] / 'x')!r}, 'w').write('x')")
    assert not (layout["course"] / "x").exists()
    data = sandbox._data_roots()[-1]
    assert kernel.run(f"open({str(data / 'x')!r}, 'w')")[1] == "OSError"  # read-only file system


def test_its_folder_is_writable_and_its_tmp_is_its_own(kernel, layout, tmp_path):
    assert kernel.run("open('result.txt', 'w').write('ok')")[1] is None
    assert (layout["workdir"] / "result.txt").read_text() == "ok"
    marker = f"/tmp/{tmp_path.name}-from-kernel"
    assert kernel.run(f"open({marker!r}, 'w').write('x')")[1] is None
    assert not Path(marker).exists()


def test_no_network_not_even_the_hosts_loopback(kernel):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    try:
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)"
        assert kernel.run(code)[1] in ("ConnectionRefusedError", "OSError", "TimeoutError")
        assert kernel.run("socket.getaddrinfo('pypi.org', 443)")[1] == "gaierror"
        assert not accepted
    finally:
        server.close()


def test_no_other_processes_no_privileges(kernel):
    pids = kernel.value("sorted(int(p) for p in os.listdir('/proc') if p.isdigit())")
    assert os.getpid() not in pids and len(pids) < 10
    assert kernel.value("os.getuid()") == sandbox.SANDBOX_UID
    caps = kernel.value("[l for l in open('/proc/self/status') if l.startswith('CapEff')][0]")
    assert caps.split()[1] == "0000000000000000"


def test_course_data_and_packages_resolve_as_outside(kernel):
    from workbook.resources import data_path

    kernel.run("import workbook, fr_utils")
    assert kernel.value("str(workbook.data_path('faces'))") == str(data_path("faces"))
    assert kernel.value("fr_utils.__file__") == str(ROOT / "fr_utils" / "__init__.py")
    assert kernel.value("type(__workbook_guard__).__name__") == "Guard"


# -- the guard --------------------------------------------------------------------------------
def _guarded(kernel, attack: str, test: str = "pass") -> tuple[list[str], str | None]:
    """Run ``attack`` in one cell, then a guarded test cell; return (new reasons, its error)."""
    before = kernel.value("len(__workbook_guard__.events)")
    assert kernel.run(attack)[1] is None, attack
    cell = f"__workbook_guard__.before('t', ())\n{test}\n__workbook_guard__.after('t')"
    error = kernel.run(cell)[1]
    events = kernel.value(f"[e['detail'] for e in __workbook_guard__.events[{before}:]]")
    return events, error


ATTACKS = {
    "check function replaced": (
        "import fr_utils.checks.nb01 as m; m.check_distance = lambda f: None",
        "fr_utils.checks.nb01.check_distance was replaced",
    ),
    "assertion turned off": (
        "import numpy.testing; numpy.testing.assert_allclose = lambda *a, **k: None",
        "numpy.testing.assert_allclose was replaced",
    ),
    "numpy helper replaced": (
        "import numpy; numpy.allclose = lambda *a, **k: True",
        "numpy.allclose was replaced",
    ),
    "function code swapped": (
        "import workbook.checking as w\ndef _ok(*a, **k): pass\n"
        "w.expect_close.__code__ = _ok.__code__",
        "the code of workbook.checking.expect_close was replaced",
    ),
    "style-transfer cost replaced": (
        "import nst_utils.costs as c; c.gram_matrix = lambda A: A",
        "nst_utils.costs.gram_matrix was replaced",
    ),
    "style-transfer check replaced": (
        "import nst_utils.checks.nb08 as m; m.check_compute_layer_style_cost = lambda f: None",
        "nst_utils.checks.nb08.check_compute_layer_style_cost was replaced",
    ),
    "convolution check replaced": (
        "import conv_utils.checks as m; m.check_conv_output_shape = lambda f: None",
        "conv_utils.checks.check_conv_output_shape was replaced",
    ),
    "builtin replaced": (
        "import builtins; builtins.abs = lambda x: 0",
        "builtins.abs was replaced",
    ),
    "builtin shadowed in a check module": (
        "import numpy, fr_utils.checks.nb01 as m; m.all = numpy.all",
        "fr_utils.checks.nb01.all was added",
    ),
    "class attribute patched": (
        "import workbook.checking as w; w.CheckFailed.__init__ = lambda self, *a: None",
        "workbook.checking.CheckFailed.__init__ was changed",
    ),
    "check module swapped in sys.modules": (
        "import sys, types; sys.modules['fr_utils.checks.nb01'] = types.ModuleType('fake')",
        "sys.modules['fr_utils.checks.nb01'] was replaced",
    ),
    "import hook inserted": (
        "import sys\nclass F:\n    def find_spec(self, *a): return None\n"
        "sys.meta_path.insert(0, F())",
        "sys.meta_path was changed",
    ),
    "input transformer": (
        "get_ipython().input_transformers_cleanup.append(lambda lines: lines)",
        "shell.input_transformers_cleanup was changed",
    ),
    "tracebacks hidden": (
        "get_ipython().showtraceback = lambda *a, **k: None",
        "shell.showtraceback was changed",
    ),
    "custom exception handler": (
        "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
        "custom_exceptions was changed",
    ),
    "trace function": ("import sys; sys.settrace(lambda *a: None)", "sys.settrace was changed"),
    "notebook's builtins replaced": (
        "__builtins__ = {'print': print}",
        "the notebook's __builtins__ was changed",
    ),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_the_guard_undoes_and_reports_each_tampering(kernel, name):
    attack, reason = ATTACKS[name]
    events, error = _guarded(kernel, attack)
    assert any(reason in e for e in events), events
    assert error is None  # restored before the test ran; the test itself then runs honestly
    events, error = _guarded(kernel, "pass")
    assert events == [] and error is None, f"{name} was not undone: {events}"


def test_tampering_during_the_check_fails_the_test(kernel):
    code = "import numpy.testing as t; t.assert_allclose = lambda *a, **k: None"
    events, error = _guarded(kernel, "pass", test=code)
    assert error == "GradingIntegrityError"
    assert any("numpy.testing.assert_allclose" in e for e in events)
    assert _guarded(kernel, "pass") == ([], None)


def test_a_shadowing_package_on_disk_is_refused(kernel, layout):
    attack = (
        "import os, sys\nos.makedirs('fr_utils/checks', exist_ok=True)\n"
        "open('fr_utils/__init__.py', 'w').write('')\n"
        "open('fr_utils/checks/nb01.py', 'w').write('def check_distance(f): pass')\n"
        "for n in [n for n in sys.modules if n.startswith('fr_utils')]: del sys.modules[n]"
    )
    events, error = _guarded(kernel, attack, test="import fr_utils.checks.nb01")
    assert error is None  # the real modules were put back, not the files in the folder
    assert any("sys.modules['fr_utils" in e for e in events), events
    assert kernel.value("fr_utils.checks.nb01.__file__").startswith(str(ROOT))
    shadow = "sys.path.insert(0, os.getcwd()); del sys.modules['fr_utils']; import fr_utils"
    out, error = kernel.run(shadow)
    assert error == "ImportError"
    assert kernel.value("__workbook_guard__.events[-1]['detail']").startswith("import fr_utils")
    assert _guarded(kernel, "sys.path.pop(0)")[1] is None  # restored again


def test_the_instructors_imports_are_rebound_for_the_test(kernel):
    kernel.run("import numpy as np\nnp = None")
    before = kernel.value("len(__workbook_guard__.events)")
    cell = (
        "__workbook_guard__.before('t', ('import numpy as np',))\n"
        "print(np.__name__)\n__workbook_guard__.after('t')"
    )
    out, error = kernel.run(cell)
    assert (out.strip(), error) == ("numpy", None)
    events = kernel.value(f"[e['detail'] for e in __workbook_guard__.events[{before}:]]")
    assert any("rebound 'np'" in e for e in events), events


def test_honest_code_is_not_flagged(kernel):
    honest = (
        "import numpy as np, warnings\nimport matplotlib.pyplot as plt\n"
        "from fr_utils.checks.nb01 import check_distance\nimport nst_utils\n"
        "nst_utils.compute_content_cost\nnp.set_printoptions(precision=3)\n"
        "warnings.warn('a library warning')\nfig = plt.figure(); plt.close(fig)\n"
        "def distance(a, b):\n    return np.sum((np.asarray(a) - np.asarray(b)) ** 2, axis=-1)\n"
    )
    assert _guarded(kernel, honest, test="check_distance(distance)") == ([], None)


def test_the_report_lists_completed_tests(kernel):
    out, error = kernel.run("__workbook_guard__.report()")
    assert error is None
    line = next(line for line in out.splitlines() if line.startswith("WORKBOOK-GRADING-REPORT"))
    record = json.loads(line.split(" ", 1)[1])
    assert "t" in record["completed"] and record["modules"] > 50


def test_background_processes_die_with_the_kernel(layout):
    k = Kernel(layout["course"] / "second", layout["workdir"], layout["runtime"] / "second")
    try:
        k.run("import subprocess; subprocess.Popen(['sleep', '987.654'], start_new_session=True)")
    finally:
        k.close()
    import time

    time.sleep(2)
    left = running("987.654")
    assert not left


# -- the plugins' pure parts ------------------------------------------------------------------
def test_test_imports_follow_the_last_binding():
    import nbformat

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell
    nb.cells = [
        code("import numpy as np\nfrom fr_utils.metrics import is_match\nimport nst_utils"),
        code("def is_match(a, b):\n    return a == b"),  # the student's own version wins
        code("%matplotlib inline\nvalue = 3"),
        code(
            "np.testing.assert_allclose(is_match(1, 1), True)\nnst_utils.x\nvalue",
            metadata={"nbgrader": {"grade": True, "grade_id": "t1", "points": 1}},
        ),
    ]
    assert nbgrader_plugins.test_imports(nb) == {"t1": ["import nst_utils", "import numpy as np"]}


def _start_launcher(tmp_path: Path, marker: str, code: str, grader: bool) -> subprocess.Popen:
    """Start the launcher as nbgrader does, its kernel replaced by ``python -c code``.

    With ``grader`` a stand-in for nbgrader (a process that starts the launcher and waits) is
    started instead, and returned. The marker in the kernel's command line finds its processes.
    """
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700, exist_ok=True)
    (runtime / "k.json").write_text("{}")
    manifest = tmp_path / "m.json"
    manifest.write_text("{}")
    kernel = [sys.executable, "-c", code, marker]
    launcher = tmp_path / "launcher.py"
    launcher.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tools')!r})\n"
        "from grading import sandbox\n"
        f"sandbox.kernel_command = lambda args: {kernel!r}\n"
        f"sandbox.main(['-f', {str(runtime / 'k.json')!r}])\n"
    )
    script = tmp_path / "grader.py"
    script.write_text(
        f"import subprocess, sys\nsubprocess.run([sys.executable, {str(launcher)!r}])\n"
    )
    env = dict(os.environ, WORKBOOK_GRADING_MODE="bwrap", WORKBOOK_GRADING_MANIFEST=str(manifest))
    first = script if grader else launcher
    return subprocess.Popen([sys.executable, str(first)], cwd=tmp_path, env=env)


#: The kernel's stand-in: holds the lifeline first, as grading.kernel does, then sleeps.
HOLD_AND_SLEEP = (
    f"import sys, time; sys.path.insert(0, {str(ROOT / 'tools')!r})\n"
    "from grading import lifeline; lifeline.hold(); time.sleep(600)"
)


def _gone_within(marker: str, seconds: float) -> list[Path]:
    """Wait until no process carries ``marker``; SIGKILL (and return) any still there after."""
    import signal
    import time

    deadline = time.monotonic() + seconds  # teardown may be slow on a loaded machine
    while running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = running(marker)
    for process in left:  # never leave a stray sandbox behind, even when the test fails
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(process.name), signal.SIGKILL)
    return left


def test_the_sandbox_dies_with_its_parent_even_killed_during_start_up(tmp_path):
    """nbgrader SIGKILLed at any moment of the kernel's start leaves nothing behind.

    bwrap 0.8 alone loses this about one time in five when the grader dies within
    milliseconds of starting it: its namespace's pid 1 waits forever for a go-ahead, or runs
    on without PDEATHSIG. Each round kills the grader as soon as bwrap runs, or a few ms later.
    """
    import random
    import signal
    import time

    rng = random.Random(15)
    for round_ in range(10):
        marker = f"{rng.randrange(10**6, 10**7)}.{round_}"  # this run's own
        folder = tmp_path / str(round_)
        folder.mkdir()
        grader = _start_launcher(folder, marker, HOLD_AND_SLEEP, grader=True)
        deadline = time.monotonic() + 60
        while not any(proc_text(p, "comm").strip() == "bwrap" for p in running(marker)):
            assert time.monotonic() < deadline, "bwrap did not start"
            time.sleep(0.0005)
        time.sleep(rng.choice([0, 0, 0.002, 0.01, 0.05]))
        os.kill(grader.pid, signal.SIGKILL)  # the grader dies: its sandbox must not outlive it
        grader.wait()
        left = _gone_within(marker, 10)
        assert not left, f"round {round_}: still running after the grader died: {left}"


def test_a_kernel_that_clears_its_pdeathsig_still_dies_with_its_launcher(tmp_path):
    """Student code runs in the kernel's process, so it can undo PR_SET_PDEATHSIG; the
    lifeline does not depend on it: the launcher killed outright, the kernel exits."""
    import signal
    import time

    marker = "7654321.25"
    clear = (
        "import ctypes, pathlib; ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\n"  # PDEATHSIG off
        "pathlib.Path('ready').write_text('')\n"
    )
    code = HOLD_AND_SLEEP.replace("lifeline.hold(); ", "lifeline.hold()\n" + clear)
    launcher = _start_launcher(tmp_path, marker, code, grader=False)
    deadline = time.monotonic() + 60
    while not (tmp_path / "ready").exists():
        assert time.monotonic() < deadline and launcher.poll() is None, "the kernel did not start"
        time.sleep(0.05)
    os.kill(launcher.pid, signal.SIGKILL)  # no handler runs: only the lifeline is left
    launcher.wait()
    assert not _gone_within(marker, 10), "the kernel outlived its launcher"


def test_the_lifeline_is_cut_when_every_write_end_is_closed():
    from grading import lifeline

    read_end, write_end = os.pipe()
    try:
        assert not lifeline.is_cut(read_end)
        os.close(write_end)
        assert lifeline.is_cut(read_end)
    finally:
        os.close(read_end)
    assert lifeline.is_cut(read_end), "a closed descriptor counts as cut"
    environ = {}
    assert lifeline.hold(environ) is False, "no lifeline outside the sandbox: nothing to hold"


def test_a_kernel_started_after_its_launcher_died_exits_at_once():
    read_end, write_end = os.pipe()
    os.close(write_end)
    env = dict(os.environ, WORKBOOK_GRADING_LIFELINE=str(read_end))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "grading" / "lifeline.py"), "60"],
        pass_fds=[read_end],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    os.close(read_end)
    assert result.returncode == 129
    assert "the grader was gone before the kernel started" in result.stderr


def test_the_unsandboxed_fallback_still_guards_but_sees_everything(layout):
    course = layout["course"] / "fallback"
    k = Kernel(course, layout["workdir"], layout["runtime"] / "fallback", mode="none")
    try:
        assert k.value("type(__workbook_guard__).__name__") == "Guard"
        gradebook = layout["course"] / "gradebook.db"
        assert k.value(f"open({str(gradebook)!r}).read()") == "grades"  # hence every row flagged
    finally:
        k.close()
