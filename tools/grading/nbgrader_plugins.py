"""nbgrader preprocessors for trustworthy autograding (named in the course's nbgrader_config.py).

Sanitizing (before the notebook runs):

* `ReleasedOverwriteCells`: nbgrader's `OverwriteCells`, but a locked cell is compared with
  the version the student *received*. nbgrader compares it with the source version, whose
  hidden tests change the checksum, so every honest student got a warning; now a warning (and
  a ``flagged`` row) means the student really edited a locked cell. Deleted test cells are
  put back from the source, graded, and reported (nbgrader's ``add_missing_cells``).
* `GuardCells`: wraps every test cell in the calls of `grading.guard` (``before`` with the
  instructor's imports of the names the test uses, ``after``) and appends the report cell.

Autograding (running it):

* `GuardedExecute`: nbgrader's `Execute` on the ``workbook-grading`` kernel, with a timeout per
  cell of ``timeout_factor`` x the solution's own time for that cell + ``timeout_margin``
  (times measured at release, ``course/grading/timings/<assignment>.json``). A kernel that
  ignores the interrupt after a timeout, or dies, is stopped; the remaining cells fail.
* `GuardVerdict`: reads the guard's report, fails every test cell that did not reach the
  guard's ``after`` call (whatever its output says), removes the guard's lines again and
  writes ``course/grading/reports/<student>/<assignment>/<notebook>.json``.
"""

from __future__ import annotations

import ast
import json
import queue
import time
import uuid
from pathlib import Path

import nbformat
from jupyter_core.paths import jupyter_runtime_dir
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Float

from grading.guard import MARKER, NAME
from workbook.atomic import atomic_open

META = "workbook_grading"  # notebook and cell metadata key of these preprocessors
REPORT_TIMEOUT = 120  # seconds for the appended report cell


def _course(config) -> CourseDirectory:
    return CourseDirectory(config=config)


def _names(resources) -> tuple[str, str]:
    return resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"]


def _events(nb) -> list[dict]:
    return nb.metadata.setdefault(META, {}).setdefault("events", [])


def _error_output(ename: str, evalue: str) -> NotebookNode:
    trace = [f"{ename}: {evalue}"]
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=trace)


# -- which of the instructor's imports a test cell uses ---------------------------------------
class _Bindings(ast.NodeVisitor):
    """Names bound at the top level of a cell, in order: (name, import statement or None)."""

    def __init__(self):
        self.found: list[tuple[str, str | None]] = []

    def visit_Import(self, node):  # noqa: N802 (ast's naming)
        for alias in node.names:
            name = alias.asname or alias.name.partition(".")[0]
            self.found.append((name, ast.unparse(ast.Import(names=[alias]))))

    def visit_ImportFrom(self, node):  # noqa: N802
        for alias in node.names:
            if alias.name == "*":
                continue
            single = ast.ImportFrom(module=node.module, names=[alias], level=node.level)
            self.found.append((alias.asname or alias.name, ast.unparse(single)))

    def visit_FunctionDef(self, node):  # noqa: N802
        self.found.append((node.name, None))

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef  # noqa: N815

    def visit_Name(self, node):  # noqa: N802
        if isinstance(node.ctx, ast.Store | ast.Del):
            self.found.append((node.id, None))

    def visit_Lambda(self, node):  # noqa: N802
        pass  # its parameters are not module names

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda  # noqa: N815


def _python(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None


def test_imports(nb) -> dict[str, list[str]]:
    """For each test cell of the instructor's notebook: the import statements it relies on.

    A name counts when the test cell reads it without binding it itself, and the last binding
    of that name in the cells above is an import (so a function the student writes, or a
    variable the notebook computes, is never replaced by a library version).
    """
    last: dict[str, str | None] = {}
    found: dict[str, list[str]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = _python(cell.source)
        if tree is None:
            continue
        meta = cell.metadata.get("nbgrader", {})
        bindings = _Bindings()
        bindings.visit(tree)
        if meta.get("grade"):
            own = {name for name, _ in bindings.found}
            read = {
                node.id
                for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
            }
            found[meta["grade_id"]] = sorted({last[name] for name in read - own if last.get(name)})
        for name, statement in bindings.found:
            last[name] = statement
    return found


# -- sanitizing -------------------------------------------------------------------------------
class ReleasedOverwriteCells(OverwriteCells):
    """`OverwriteCells` that checks locked cells against the released version (see module doc)."""

    def preprocess(self, nb, resources):
        course = _course(self.config)
        assignment, notebook = _names(resources)
        released_path = Path(course.format_path(course.release_directory, ".", assignment))
        released = nbformat.read(released_path / f"{notebook}.ipynb", as_version=4)
        self._released = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("checksum")
            for c in released.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")
        }
        self._honest: set[str] = set()
        self._seen: set[str] = set()
        self._nb = nb
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            if grade_id not in self._released:
                _events(self._nb).append(
                    {"kind": "cells", "where": grade_id, "detail": f"unknown cell id {grade_id!r}"}
                )
            elif grade_id in self._seen:
                _events(self._nb).append(
                    {"kind": "cells", "where": grade_id, "detail": f"cell {grade_id} duplicated"}
                )
            else:
                self._seen.add(grade_id)
                if utils.compute_checksum(cell) == self._released[grade_id]:
                    self._honest.add(grade_id)
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr == "checksum" and name in self._honest:
            return  # the released cell, unchanged: only its hidden tests differ
        super().report_change(name, attr, old, new)
        detail = "edited (restored from the source)" if attr == "checksum" else f"{attr} changed"
        _events(self._nb).append(
            {"kind": "cells", "where": name, "detail": f"locked cell {name} {detail}"}
        )

    def add_missing_grade_cells(self, nb, resources):
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        for cell in source_nb.grade_cells:
            if cell.name not in present:
                _events(nb).append(
                    {
                        "kind": "cells",
                        "where": cell.name,
                        "detail": f"test cell {cell.name} deleted (put back from the source)",
                    }
                )
        return super().add_missing_grade_cells(nb, resources)


def _prelude(grade_id: str, imports: list[str]) -> str:
    return f"{NAME}.before({grade_id!r}, {tuple(imports)!r})  # grading guard"


def _epilogue(grade_id: str) -> str:
    return f"{NAME}.after({grade_id!r})  # grading guard"


class GuardCells(NbGraderPreprocessor):
    """Wrap each test cell in the guard's calls and append the report cell."""

    def preprocess(self, nb, resources):
        course = _course(self.config)
        assignment, notebook = _names(resources)
        source = Path(course.format_path(course.source_directory, ".", assignment))
        imports = test_imports(nbformat.read(source / f"{notebook}.ipynb", as_version=4))
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade"):
                grade_id = meta["grade_id"]
                prelude = _prelude(grade_id, imports.get(grade_id, []))
                epilogue = _epilogue(grade_id)
                cell.source = f"{prelude}\n{cell.source}\n{epilogue}"
                cell.metadata[META] = {"prelude": prelude, "epilogue": epilogue}
        report = nbformat.v4.new_code_cell(f"{NAME}.report()  # grading guard")
        report.metadata[META] = "report"
        nb.cells.append(report)
        return nb, resources


# -- autograding ------------------------------------------------------------------------------
def load_timings(course: CourseDirectory, assignment: str) -> dict | None:
    """The per-cell times measured at release, or None when release did not measure them."""
    path = Path(course.root) / "grading" / "timings" / f"{assignment}.json"
    return json.loads(path.read_text()) if path.exists() else None


class GuardedExecute(Execute):
    """`Execute` with per-cell timeouts from the solution's times; stops a stuck kernel."""

    timeout_factor = Float(10.0, help="timeout = factor x solution time + margin").tag(config=True)
    timeout_margin = Float(30.0, help="seconds added to every cell's timeout").tag(config=True)
    interrupt_grace = Float(20.0, help="seconds a kernel has to answer after an interrupt").tag(
        config=True
    )

    def preprocess(self, nb, resources=None, km=None):
        timings = load_timings(_course(self.config), resources["nbgrader"]["assignment"])
        self._cells = (timings or {}).get("cells", {})
        self._times: dict[str, float] = {}
        self._notes: list[dict] = []
        self._stopped: str | None = None
        self._timed_out = False
        if self._cells:
            self.timeout_func = self._cell_timeout
        nb, resources = super().preprocess(nb, resources, km)
        resources[META] = {"times": self._times, "notes": self._notes, "measured": bool(timings)}
        return nb, resources

    def create_kernel_manager(self):
        """The kernel manager, talking to the kernel over socket files in the runtime folder.

        The sandbox has a network of its own, so TCP cannot reach it; the connection file and
        the IPC sockets live in the private, per-job runtime folder (``JUPYTER_RUNTIME_DIR``)
        that the sandbox shares, at absolute paths (the kernel's working folder is not ours).
        """
        km = super().create_kernel_manager()
        runtime = Path(jupyter_runtime_dir())
        runtime.mkdir(parents=True, exist_ok=True)
        name = f"kernel-{uuid.uuid4().hex[:8]}"
        km.transport = "ipc"
        km.connection_file = str(runtime / f"{name}.json")
        km.ip = str(runtime / f"{name}-ipc")
        return km

    def _cell_timeout(self, cell) -> int:
        """``timeout_factor`` x the solution's time for this cell (its slowest cell if unknown)."""
        if cell.metadata.get(META) == "report":
            return REPORT_TIMEOUT
        seconds = self._cells.get(cell.get("id"), max(self._cells.values()))
        return int(self.timeout_factor * seconds + self.timeout_margin)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _responds(self) -> bool:
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + self.interrupt_grace
        get = run_sync(self.kc.shell_channel.get_msg)
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = get(timeout=left)
            except queue.Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped:
            cell.outputs = [_error_output("KernelStopped", self._stopped)]
            return cell, resources
        self._timed_out = False
        start = time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError as error:  # the reply came (interrupted), the output did not
            self._timed_out = True
            cell.outputs.append(_error_output("CellTimeoutError", str(error).splitlines()[0]))
        except DeadKernelError as error:
            self._stopped = f"the kernel died in cell {index} ({error}); later cells did not run"
            cell.outputs.append(_error_output("DeadKernelError", self._stopped))
        elapsed = time.monotonic() - start
        if cell.get("id"):
            self._times[cell.id] = round(elapsed, 3)
        if self._timed_out:
            where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
            note = f"{where} timed out after {self._get_timeout(cell)} s and was interrupted"
            self._notes.append({"kind": "timeout", "where": where, "detail": note})
            if not self._responds():
                self._stopped = f"the kernel ignored the interrupt after {where}; stopped"
                self._notes.append({"kind": "timeout", "where": where, "detail": self._stopped})
                run_sync(self.km.shutdown_kernel)(now=True)
        elif self._stopped:
            note = {"kind": "kernel", "where": f"cell {index}", "detail": self._stopped}
            self._notes.append(note)
        return cell, resources


def parse_report(cell) -> dict | None:
    """The guard's record printed by the report cell, or None when there is none."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in output.get("text", "").splitlines():
                if line.startswith(MARKER + " "):
                    try:
                        return json.loads(line[len(MARKER) + 1 :])
                    except json.JSONDecodeError:
                        return None
    return None


class GuardVerdict(NbGraderPreprocessor):
    """Fail test cells the guard did not see complete; strip its lines; write the report."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        report_cells = [c for c in nb.cells if c.metadata.get(META) == "report"]
        record = parse_report(report_cells[-1]) if report_cells else None
        nb.cells = [c for c in nb.cells if c.metadata.get(META) != "report"]
        events = list(nb.metadata.get(META, {}).get("events", []))
        execution = resources.get(META, {})
        events += execution.get("notes", [])
        if record is None:
            events.append(
                {
                    "kind": "integrity",
                    "where": "end",
                    "detail": "no report from the grading guard (kernel stopped, or output"
                    " tampered with): no test can be trusted",
                }
            )
        else:
            events += record.get("events", [])
        completed = set(record.get("completed", [])) if record else set()
        for cell in nb.cells:
            guard = cell.metadata.pop(META, None)
            if not isinstance(guard, dict):
                continue
            lines = cell.source.split("\n")
            if lines and lines[0] == guard["prelude"]:
                lines = lines[1:]
            if lines and lines[-1] == guard["epilogue"]:
                lines = lines[:-1]
            cell.source = "\n".join(lines)
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            failed = any(o.get("output_type") == "error" for o in cell.outputs)
            if not failed and grade_id not in completed:
                detail = f"{grade_id} showed no error but did not run to its end: scored 0"
                cell.outputs.append(_error_output("GradingIntegrityError", detail))
                if record is not None:
                    events.append({"kind": "integrity", "where": grade_id, "detail": detail})
        nb.metadata.pop(META, None)
        course = _course(self.config)
        folder = Path(course.root) / "grading" / "reports" / info["student"] / info["assignment"]
        folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "events": events,
            "completed": sorted(completed),
            "times": execution.get("times", {}),
            "measured": execution.get("measured", False),
        }
        with atomic_open(folder / f"{info['notebook']}.json", "w") as handle:
            json.dump(payload, handle, indent=1)
        return nb, resources
