"""The grading guard: inside the kernel, it keeps what the tests rely on as it was released.

nbgrader runs the student's cells and the test cells in one interpreter, so student code can
replace a check (``fr_utils.checks.nb01.check_distance = lambda f: None``), turn off an
assertion (``numpy.testing.assert_allclose = print``), shadow a module, or hook the kernel so
that errors are not shown. `install` runs before any cell and sets up three defences:

1. **Verified imports.** A meta-path finder, first on ``sys.meta_path``, loads every module of
   ``fr_utils``, ``nst_utils``, ``conv_utils`` and ``workbook`` from its released file only: the
   real path must be listed in the manifest and the bytes must have its sha256; the code is
   compiled from those very bytes (no ``.pyc`` is trusted). Anything else is refused.
2. **Snapshots.** Right after a watched module is loaded (the project's, NumPy, ``builtins``
   and the few standard modules the checks use) its namespace, the code of its functions and
   the attributes of its classes are recorded, as are the kernel's execution hooks
   (``sys.meta_path``, trace functions, IPython's input and AST transformers, the shell's
   and kernel's methods, ``sys.stdout``...).
3. **Calls around every test cell**, inserted by `grading.nbgrader_plugins.GuardCells`:
   `Guard.before` compares everything with the snapshot, puts back what differs, records a
   reason for each difference, and re-imports the names the test uses from the instructor's
   import statements; `Guard.after` compares again (student code called *by* the check may
   have patched something meanwhile): a difference fails the test cell. `Guard.report`, in
   a cell appended at the end, prints the record for `grading.nbgrader_plugins.GuardVerdict`.

A test cell that does not reach `Guard.after` scores 0 even if its error was hidden. What this
cannot stop (the same interpreter, after all) is listed in the README's instructor guide.
"""

from __future__ import annotations

import builtins
import copy
import gc
import hashlib
import importlib
import importlib.machinery
import json
import os
import pkgutil
import sys
import threading
import types
from dataclasses import dataclass, field

# The guard's own builtins: a private copy, so `isinstance`, `len`... stay the real ones here
# whatever a notebook does to the `builtins` module (CPython looks builtins up per function).
__builtins__ = dict(vars(builtins))  # noqa: A001

PROJECT = ("fr_utils", "nst_utils", "conv_utils", "workbook")
#: Modules the checks rely on besides the project's: watched like the project's own.
WATCHED = (
    "builtins",
    "numpy",
    "numpy.*",
    "math",
    "operator",
    "functools",
    "inspect",
    "ast",
    "textwrap",
    "dataclasses",
    "contextlib",
    "copy",
    "hashlib",
    "tensorflow",
    "keras",
    "keras.ops",
)
#: Module globals that the library itself sets lazily at run time (caches, singletons).
#: ipykernel sets ``input`` while a cell runs (to forward it to the front end).
LAZY_GLOBALS = {("fr_utils.detection", "_detector"), ("builtins", "input")}
#: Names IPython and the warnings module add or change in module namespaces.
VOLATILE_NAMES = {"__warningregistry__", "_", "__", "___"}
#: Front ends that register event callbacks of their own (matplotlib's inline backend).
FRONTEND_MODULES = ("matplotlib_inline", "matplotlib", "ipykernel", "IPython", "ipywidgets")
MARKER = "WORKBOOK-GRADING-REPORT"
NAME = "__workbook_guard__"
_MISSING = object()


class GradingIntegrityError(Exception):
    """Student code changed what the test relies on while the test ran: the test fails."""


def _is_watched(name: str) -> bool:
    if name.partition(".")[0] in PROJECT:
        return True
    return any(name == w or (w.endswith(".*") and name.startswith(w[:-1])) for w in WATCHED)


def from_notebook(value) -> bool:
    """Whether ``value`` (a function, class or object) was defined by code in the notebook."""
    function = getattr(value, "__func__", value)
    where = getattr(function, "__module__", None) or type(value).__module__
    return where == "__main__" or type(value).__module__ == "__main__"


def describe(value) -> str:
    """A short description of ``value`` for a reason line: what it is and where it came from."""
    if from_notebook(value):
        kind = "a function" if callable(value) else "a value"
        label = getattr(value, "__name__", type(value).__name__)
        return f"{kind} defined in the notebook ({label})"
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _fingerprint(value) -> str | None:
    """A hash of a container's or array's content, to notice in-place edits (None: not one)."""
    try:
        if type(value).__name__ == "ndarray" and type(value).__module__ == "numpy":
            if value.size > 1_000_000 or value.dtype.hasobject:
                return None
            return hashlib.sha256(value.tobytes()).hexdigest() + str(value.shape) + str(value.dtype)
        if isinstance(value, (list, dict, set)) and len(value) < 10_000:
            return hashlib.sha256(repr(value).encode()).hexdigest()
    except Exception:  # an exotic container: not fingerprinted
        return None
    return None


@dataclass
class _Snapshot:
    """What a watched module looked like right after it was loaded."""

    module: types.ModuleType
    names: dict
    functions: dict = field(default_factory=dict)  # name -> (function, code, defaults, kwdefaults)
    classes: dict = field(default_factory=dict)  # name -> (class, dict of its attributes)
    values: dict = field(default_factory=dict)  # name -> (fingerprint, copy)
    path: list | None = None


class _VerifiedLoader(importlib.machinery.SourceFileLoader):
    """Load a project module from its released bytes only, then snapshot it."""

    guard: Guard

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        data = self.get_data(path)
        self.guard.verify_source(fullname, path, data)
        return compile(data, path, "exec", dont_inherit=True)

    def exec_module(self, module):
        super().exec_module(module)
        self.guard.adopt(module)


class _VerifiedFinder:
    """First on ``sys.meta_path``: project modules come from manifest files, or not at all."""

    def __init__(self, guard: Guard):
        self.guard = guard

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in PROJECT:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        origin = os.path.realpath(spec.origin) if spec.has_location else None
        if origin not in self.guard.manifest:
            where = origin or "a namespace folder"
            reason = f"import {fullname} refused: {where} is not a released file"
            self.guard.record("import", reason)
            raise ImportError(reason)
        loader = _VerifiedLoader(fullname, spec.origin)
        loader.guard = self.guard
        spec.loader = loader
        return spec

    def invalidate_caches(self):
        pass


class _Hook:
    """One execution hook of the interpreter or kernel: how to read it and how to put it back."""

    def __init__(self, name, get, put):
        self.name, self.get, self.put = name, get, put


def _attr_hook(name, obj, attr):
    def put(value):
        if value is _MISSING:
            if attr in vars(obj):
                delattr(obj, attr)
        else:
            setattr(obj, attr, value)

    return _Hook(name, lambda: vars(obj).get(attr, _MISSING), put)


def _setter(target: list):
    def put(value):
        target[:] = list(value)

    return put


def _list_hook(name, owner, attr):
    def get():
        return tuple(getattr(owner, attr))

    def put(value):
        getattr(owner, attr)[:] = list(value)

    return _Hook(name, get, put)


class Guard:
    """The guard of one kernel; see the module docstring. Created by `install`."""

    def __init__(self, shell, kernel, manifest: dict[str, str]):
        self.shell, self.kernel = shell, kernel
        self.manifest = dict(manifest)
        self.snapshots: dict[str, _Snapshot] = {}
        self.events: list[dict] = []
        self.completed: list[str] = []
        self.phase = "start"
        self.finder = _VerifiedFinder(self)
        # references of our own, taken before any student code ran
        self._print, self._exec, self._compile = builtins.print, builtins.exec, builtins.compile
        self._sha256, self._dumps = hashlib.sha256, json.dumps
        self._hooks: list[_Hook] = []
        self._hook_state: dict[str, object] = {}

    # -- recording -------------------------------------------------------------------------
    def record(self, kind: str, detail: str) -> None:
        """Note one finding, with the test cell (or phase) it was found in."""
        self.events.append({"kind": kind, "where": self.phase, "detail": detail})

    # -- verified imports -----------------------------------------------------------------
    def verify_source(self, fullname: str, path: str, data: bytes) -> None:
        """Refuse ``data`` as ``fullname`` unless it is the released file at ``path``."""
        expected = self.manifest.get(os.path.realpath(path))
        if expected is None or self._sha256(data).hexdigest() != expected:
            reason = f"import {fullname} refused: {path} differs from the released file"
            self.record("import", reason)
            raise ImportError(reason)

    def adopt(self, module: types.ModuleType) -> None:
        """Snapshot ``module`` as it is now (called right after it was loaded)."""
        name = module.__name__
        snap = _Snapshot(module=module, names=dict(vars(module)))
        project = name.partition(".")[0] in PROJECT
        checks = "checks" in name.split(".") or name == "workbook.checking"
        for key, value in snap.names.items():
            if isinstance(value, types.FunctionType) and value.__module__ == name:
                snap.functions[key] = (
                    value,
                    value.__code__,
                    value.__defaults__,
                    value.__kwdefaults__,
                )
            elif project and isinstance(value, type) and value.__module__ == name:
                snap.classes[key] = (value, dict(vars(value)))
            elif checks and not key.startswith("__"):
                fingerprint = _fingerprint(value)
                if fingerprint is not None:
                    snap.values[key] = (fingerprint, copy.deepcopy(value))
        if isinstance(getattr(module, "__path__", None), list):
            snap.path = list(module.__path__)
        self.snapshots[name] = snap

    def _adopt_new_modules(self) -> None:
        for name, module in list(sys.modules.items()):
            if name not in self.snapshots and isinstance(module, types.ModuleType):
                if _is_watched(name) and name.partition(".")[0] not in PROJECT:
                    self.adopt(module)

    # -- comparing and restoring ----------------------------------------------------------
    def _legit_addition(self, module, key, value) -> bool:
        if key in VOLATILE_NAMES:
            return True
        name = f"{module.__name__}.{key}"
        if isinstance(value, types.ModuleType) and value.__name__ == name:
            snap = self.snapshots.get(name)  # importing a submodule binds it in its package
            return snap.module is value if snap else sys.modules.get(name) is value
        # a lazy re-export, cached by a PEP 562 module __getattr__: the same object as in a
        # module it re-exports from (not any same-named object: that could shadow a builtin)
        pristine = self.snapshots[module.__name__].names  # not the module: it may be patched
        if not callable(pristine.get("__getattr__")):
            return False
        sources = [s for n, s in self.snapshots.items() if n != module.__name__]
        return any(s.names.get(key, _MISSING) is value for s in sources)

    def _legit_change(self, module, key, old, new) -> bool:
        if key in VOLATILE_NAMES or (module.__name__, key) in LAZY_GLOBALS:
            return not from_notebook(new)
        if isinstance(old, types.ModuleType) and isinstance(new, types.ModuleType):
            return old.__name__ == new.__name__ and sys.modules.get(new.__name__) is new
        return False

    def _module_problems(self, snap: _Snapshot) -> list[str]:
        module, problems = snap.module, []
        name = module.__name__
        now = vars(module)
        if sys.modules.get(name) is not module:
            problems.append(f"sys.modules[{name!r}] was replaced or removed")
            sys.modules[name] = module
        for key, old in snap.names.items():
            new = now.get(key, _MISSING)
            if new is old:
                continue
            if new is _MISSING:
                problems.append(f"{name}.{key} was deleted")
            elif self._legit_change(module, key, old, new):
                snap.names[key] = new
                continue
            else:
                problems.append(f"{name}.{key} was replaced by {describe(new)}")
            now[key] = old
        for key in [k for k in now if k not in snap.names]:
            value = now[key]
            if self._legit_addition(module, key, value):
                snap.names[key] = value
                continue
            problems.append(f"{name}.{key} was added ({describe(value)})")
            del now[key]
        for key, (function, code, defaults, kwdefaults) in snap.functions.items():
            if function.__code__ is not code:
                problems.append(f"the code of {name}.{key} was replaced")
                function.__code__ = code
            if function.__defaults__ is not defaults or function.__kwdefaults__ is not kwdefaults:
                problems.append(f"the default arguments of {name}.{key} were changed")
                function.__defaults__, function.__kwdefaults__ = defaults, kwdefaults
        for key, (cls, attributes) in snap.classes.items():
            current = dict(vars(cls))
            for attr in set(attributes) | set(current):
                if current.get(attr, _MISSING) is not attributes.get(attr, _MISSING):
                    problems.append(f"{name}.{key}.{attr} was changed")
                    if attr in attributes:
                        setattr(cls, attr, attributes[attr])
                    else:
                        delattr(cls, attr)
        for key, (fingerprint, pristine) in snap.values.items():
            value = now.get(key)
            if _fingerprint(value) != fingerprint:
                problems.append(f"the contents of {name}.{key} were changed")
                _restore_contents(value, pristine)
        if snap.path is not None and list(module.__path__) != snap.path:
            problems.append(f"{name}.__path__ was changed")
            module.__path__[:] = snap.path
        return problems

    def _define_hooks(self) -> None:
        shell, kernel = self.shell, self.kernel
        hooks = [
            _list_hook("sys.meta_path", sys, "meta_path"),
            _list_hook("sys.path_hooks", sys, "path_hooks"),
            _list_hook("gc.callbacks", gc, "callbacks"),
            _Hook("sys.settrace", sys.gettrace, sys.settrace),
            _Hook("sys.setprofile", sys.getprofile, sys.setprofile),
            _Hook("threading.settrace", lambda: threading._trace_hook, threading.settrace),
            _Hook("threading.setprofile", lambda: threading._profile_hook, threading.setprofile),
            _attr_hook("sys.displayhook", sys, "displayhook"),
            _attr_hook("sys.excepthook", sys, "excepthook"),
            _attr_hook("sys.stdout", sys, "stdout"),
            _attr_hook("sys.stderr", sys, "stderr"),
            _Hook(
                "the notebook's __builtins__",
                lambda: shell.user_ns.get("__builtins__", _MISSING),
                lambda value: shell.user_ns.__setitem__("__builtins__", value),
            ),
        ]
        for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
            hooks.append(_list_hook(f"shell.{attr}", shell, attr))
        manager = shell.input_transformer_manager
        for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
            hooks.append(_list_hook(f"input_transformer_manager.{attr}", manager, attr))
        for event, callbacks in shell.events.callbacks.items():
            hooks.append(
                _Hook(f"events[{event!r}]", lambda c=callbacks: tuple(c), _setter(callbacks))
            )
        objects = {"shell": shell, "kernel": kernel, "displayhook": shell.displayhook}
        objects.update(display_pub=shell.display_pub, session=kernel.session)
        objects.update(compile=shell.compile)  # not sys.stdout's methods: IPython tees them
        seen: set[type] = set()
        for label, obj in objects.items():
            for attr in sorted(vars(obj)):  # instance attributes that are (or shadow) methods
                if callable(vars(obj)[attr]) or callable(getattr(type(obj), attr, None)):
                    hooks.append(_attr_hook(f"{label}.{attr}", obj, attr))
            for attr in dir(type(obj)):  # a method shadowed later on the instance
                if callable(getattr(type(obj), attr, None)) and attr not in vars(obj):
                    hooks.append(_attr_hook(f"{label}.{attr}", obj, attr))
            for cls in type(obj).__mro__:
                if cls in seen or cls is object:
                    continue
                seen.add(cls)
                for attr in list(vars(cls)):
                    label = f"{cls.__module__}.{cls.__qualname__}.{attr}"
                    hooks.append(_attr_hook(label, cls, attr))
        hooks.append(_attr_hook("shell.custom_exceptions", shell, "custom_exceptions"))
        self._hooks = hooks
        self._hook_state = {hook.name: hook.get() for hook in hooks}

    def _hook_problems(self) -> list[str]:
        problems = []
        for hook in self._hooks:
            old, new = self._hook_state[hook.name], hook.get()
            same = _same(old, new)
            if same:
                continue
            if hook.name.startswith("events[") and self._frontend_only(old, new):
                self._hook_state[hook.name] = new
                continue
            if hook.name == "sys.meta_path" and self._library_finders_only(old, new):
                self._hook_state[hook.name] = new
                continue
            problems.append(f"{hook.name} was changed ({describe(_changed(old, new))})")
            hook.put(old)
        for thread in threading.enumerate():
            target = getattr(thread, "_target", None) or type(thread).run
            if from_notebook(target):
                problems.append(f"a thread runs {describe(target)} in the background")
        return problems

    def _frontend_only(self, old, new) -> bool:
        added = [cb for cb in new if not any(cb is o for o in old)]
        removed = [o for o in old if not any(o is cb for cb in new)]
        modules = [getattr(cb, "__module__", None) or type(cb).__module__ for cb in added]
        return not removed and all(str(m).startswith(FRONTEND_MODULES) for m in modules)

    def _library_finders_only(self, old, new) -> bool:
        if not new or new[0] is not self.finder or any(o not in new for o in old):
            return False
        added = [f for f in new if f not in old]
        return not any(from_notebook(f) for f in added)

    def _stray_modules(self) -> list[str]:
        problems = []
        for name in [n for n in sys.modules if n.partition(".")[0] in PROJECT]:
            if name not in self.snapshots:
                problems.append(f"sys.modules[{name!r}] holds a module the guard did not load")
                del sys.modules[name]
        return problems

    def check(self) -> list[str]:
        """Compare everything with the snapshots, put back what differs, return the reasons."""
        problems = self._hook_problems()  # first: sys.meta_path, trace hooks, stdout...
        problems += self._stray_modules()
        for snap in list(self.snapshots.values()):
            problems += self._module_problems(snap)
        self._adopt_new_modules()
        return problems

    # -- the calls in the test cells -------------------------------------------------------
    def before(self, grade_id: str, imports: tuple[str, ...] = ()) -> None:
        """Start of test cell ``grade_id``: restore, record, and re-import the test's names.

        Args:
            grade_id: the test cell's nbgrader id.
            imports: the instructor's import statements that bind names this test uses
                (``"import numpy as np"``); each is run again and its names rebound.
        """
        self.phase = grade_id
        for problem in self.check():
            self.record("tampering", problem)
        ns = self.shell.user_ns
        for statement in imports:
            fresh: dict = {}
            code = self._compile(statement, "<grading guard>", "exec", dont_inherit=True)
            self._exec(code, {"__builtins__": builtins, "__name__": "__main__"}, fresh)
            for key, value in fresh.items():
                old = ns.get(key, _MISSING)
                if old is not _MISSING and old is not value:
                    detail = f"the notebook rebound {key!r} to {describe(old)}"
                    self.record("tampering", f"{detail}; the test uses `{statement}`")
                ns[key] = value

    def after(self, grade_id: str) -> None:
        """End of test cell ``grade_id``: nothing may have changed while the check ran."""
        problems = self.check()
        for problem in problems:
            self.record("tampering", problem)
        if problems:
            raise GradingIntegrityError(
                "changed while the test ran (restored; this test scores 0): " + "; ".join(problems)
            )
        self.completed.append(grade_id)
        self.phase = f"after {grade_id}"

    def report(self) -> None:
        """Last cell: a final check, then print the record for the grader."""
        self.phase = "end"
        for problem in self.check():
            self.record("tampering", problem)
        record = {"completed": self.completed, "events": self.events}
        record["modules"] = len(self.snapshots)
        self._print(f"{MARKER} {self._dumps(record)}", flush=True)


def _same(old, new) -> bool:
    """Identity, element by element for tuples; bound methods are equal when rebound alike."""
    if isinstance(old, tuple) and isinstance(new, tuple):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    return new is old or (isinstance(new, types.MethodType) and new == old)


def _changed(old, new):
    if isinstance(old, tuple) and isinstance(new, tuple):
        added = [x for x in new if not any(x is o for o in old)]
        return added[0] if added else "an entry removed or moved"
    return new


def _restore_contents(value, pristine) -> None:
    try:
        if isinstance(value, list):
            value[:] = pristine
        elif isinstance(value, (dict, set)):
            value.clear()
            value.update(pristine)
        elif type(value).__name__ == "ndarray":
            value[...] = pristine
    except Exception:  # a read-only or resized array: the reason is already recorded
        pass


def _check_modules() -> list[str]:
    """The project's check modules (and what they import): loaded before any student code."""
    names = ["workbook.checking"]
    for package in ("fr_utils.checks", "nst_utils.checks"):
        module = importlib.import_module(package)
        names += [info.name for info in pkgutil.iter_modules(module.__path__, f"{package}.")]
    names.append("conv_utils.checks")
    return names


def install(shell, kernel, manifest: dict[str, str]) -> Guard:
    """Install the guard in a freshly started kernel, before any cell runs; return it.

    Args:
        shell: the kernel's IPython shell (``IPKernelApp.shell``).
        kernel: the ipykernel kernel (``IPKernelApp.kernel``).
        manifest: real path -> sha256 of every released file of the project's packages.

    Raises:
        ImportError: a project module is not the released file (the kernel must not start).
    """
    guard = Guard(shell, kernel, manifest)
    for name in [n for n in sys.modules if n.partition(".")[0] in PROJECT]:
        del sys.modules[name]  # imported before the finder existed: load again, verified
    sys.meta_path.insert(0, guard.finder)
    with shell.builtin_trap, shell.display_trap:  # builtins and hooks as while a cell runs
        saved, sys.excepthook = sys.excepthook, shell.excepthook  # as InteractiveShell.run_code
        try:
            for name in ("numpy", "numpy.testing", *_check_modules()):
                importlib.import_module(name)
            guard._adopt_new_modules()
            guard._define_hooks()
        finally:
            sys.excepthook = saved
    if guard.events:
        raise ImportError("grading guard: " + "; ".join(e["detail"] for e in guard.events))
    shell.user_ns[NAME] = guard
    shell.user_ns_hidden[NAME] = guard
    return guard
