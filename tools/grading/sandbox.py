"""Start the grading kernel under bubblewrap: the argv of the ``workbook-grading`` kernelspec.

nbgrader (through nbclient) starts a kernel by running this file with the kernel's connection
file and its working folder, the student's copy of the assignment. We run ``bwrap`` as our
child (holding its `grading.lifeline`, so the sandbox cannot outlive us) with a new root that
holds only:

* the student's folder, read-write, with every ``.ipynb`` in it covered by an empty file (the
  notebook being graded, hidden tests included, is not the student code's to read);
* the interpreter (``sys.base_prefix``), the virtual environment (``sys.prefix``) and ``/usr``,
  read-only;
* the project's packages, ``weights/``, ``pyproject.toml`` and this package, read-only;
* the course data: every existing folder `workbook.resources.data_roots` would search,
  read-only, at the same paths (so `workbook.data_path` resolves exactly as outside);
* the workbook cache (converted weights, face crops) read-only at ``/run/workbook/cache``,
  mirrored by `grading.kernel` into a writable per-kernel cache, and the package hashes at
  ``/run/workbook/manifest.json``;
* the connection file's private runtime folder (the kernel's IPC sockets), a fresh ``/tmp``,
  ``/proc`` and a minimal ``/dev``.

Namespaces: user (uid 1000 inside, no capabilities, no nested user namespaces), pid, network
(only a loopback of its own: no internet, no host services), IPC, UTS and cgroup; a new
session (no terminal injection); the sandbox dies with its parent. The environment is cleared
and rebuilt from a short allowlist. Course ``source/``, the gradebook and other students'
folders are simply not there.

`probe` says whether bubblewrap works on this machine (it needs unprivileged user namespaces,
or root). Without it ``WORKBOOK_GRADING_MODE=none`` runs the same kernel unsandboxed, and the
score table marks every row graded that way.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tools"):  # run as a script by the kernelspec
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from grading import lifeline as lifeline_module  # noqa: E402
from workbook.atomic import atomic_open  # noqa: E402

PACKAGES = ("fr_utils", "nst_utils", "conv_utils", "workbook")
#: What the project's grading kernel needs besides the packages (read-only).
PROJECT_FILES = ("weights", "pyproject.toml", "tools/grading")
SANDBOX_UID = 1000
CACHE_IN_SANDBOX = "/run/workbook/cache"
MANIFEST_IN_SANDBOX = "/run/workbook/manifest.json"
HOME_IN_SANDBOX = "/tmp/home"
TMP_BYTES = 4 << 30  # the sandbox's /tmp is memory: cap it
FILE_BYTES = 1 << 30  # no single file written by the kernel may grow past this
#: Variables passed through to the kernel when set (everything else is cleared).
PASS_ENV = (
    "PYTHONHASHSEED",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_DETERMINISTIC_OPS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
    "KERAS_BACKEND",
    "CI",
    "OMP_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)
MODES = ("bwrap", "none")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here; the message says what to do."""


def package_manifest(root: Path = ROOT) -> dict[str, str]:
    """The sha256 of every Python file of the project's packages, keyed by its real path.

    The guard imports a project module only when its file is listed here with this hash.
    """
    manifest = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            manifest[str(path.resolve())] = hashlib.sha256(path.read_bytes()).hexdigest()
    return manifest


def _data_roots() -> list[Path]:
    from workbook.resources import data_roots

    return [root for root in data_roots() if root.exists()]


def _cache_dir() -> Path:
    from workbook.resources import cache_dir

    return cache_dir()


def readonly_paths(root: Path = ROOT) -> list[Path]:
    """Every path the kernel sees read-only (besides ``/usr``), outermost first, no duplicates."""
    candidates = [Path(sys.base_prefix), Path(sys.prefix)]
    candidates += [root / name for name in (*PACKAGES, *PROJECT_FILES)]
    candidates += _data_roots()
    kept: list[Path] = []
    for path in sorted({Path(os.path.abspath(p)) for p in candidates if p.exists()}):
        if path == Path("/usr") or path.is_relative_to("/usr"):
            continue
        if not any(path.is_relative_to(outer) for outer in kept):
            kept.append(path)
    return kept


def _root_links() -> list[str]:
    """Recreate ``/bin``, ``/lib``... as on the host: symlinks into ``/usr`` or read-only binds."""
    args = []
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _etc_files() -> list[str]:
    """The few files of ``/etc`` a Python process needs; no passwords, keys or host config."""
    args = []
    for name in ("ld.so.cache", "localtime", "nsswitch.conf", "mime.types", "fonts"):
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path.resolve()), str(path)]
    return args


def _kernel_env(manifest: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    env.update(
        PATH=f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        HOME=HOME_IN_SANDBOX,
        TMPDIR="/tmp",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tools")]),
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        MPLCONFIGDIR=f"{HOME_IN_SANDBOX}/.config/matplotlib",
        XDG_CACHE_HOME=f"{HOME_IN_SANDBOX}/.cache",
        KERAS_HOME=f"{HOME_IN_SANDBOX}/.keras",
        WORKBOOK_CACHE="/tmp/workbook-cache",
        WORKBOOK_CACHE_RO=CACHE_IN_SANDBOX,
        WORKBOOK_OFFLINE="1",
        WORKBOOK_GRADING_MANIFEST=manifest,
    )
    if os.environ.get("WORKBOOK_DATA"):
        env["WORKBOOK_DATA"] = os.environ["WORKBOOK_DATA"]
    return env


def _keras_models() -> Path | None:
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "models" if (home / "models").is_dir() else None


def bwrap_argv(
    workdir: Path,
    runtime_dir: Path,
    manifest: Path,
    command: list[str],
    bwrap: str = "bwrap",
    lifeline: int | None = None,
    info_fd: int | None = None,
) -> list[str]:
    """The full ``bwrap`` command line that runs ``command`` in the grading sandbox.

    Args:
        workdir: the student's folder (the kernel's working directory), bound read-write.
        runtime_dir: the folder of the connection file; the kernel creates its sockets there.
        manifest: the JSON file of `package_manifest` (written before any student code ran).
        command: what to run inside, e.g. ``[python, "tools/grading/kernel.py", "-f", conn]``.
        bwrap: the bubblewrap executable.
        lifeline: the inherited read end of `grading.lifeline`'s pipe, named to the kernel
            in ``$WORKBOOK_GRADING_LIFELINE``.
        info_fd: where bwrap reports the namespace's pid 1 (``--info-fd``), for `supervise`.
    """
    args = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL"]
    # the kernel is the namespace's pid 1: when it exits everything it started is killed, and
    # its CPU time is accounted to its parent like any child's (bwrap's own init loses it)
    args += ["--die-with-parent", "--new-session", "--clearenv", "--as-pid-1"]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    args += ["--ro-bind", "/usr", "/usr", *_root_links(), *_etc_files()]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for path in readonly_paths():
        args += ["--ro-bind", str(path.resolve()), str(path)]
    args += ["--ro-bind", str(_cache_dir().resolve()), CACHE_IN_SANDBOX]
    args += ["--ro-bind", str(manifest.resolve()), MANIFEST_IN_SANDBOX]
    models = _keras_models()
    if models:
        args += ["--ro-bind", str(models.resolve()), f"{HOME_IN_SANDBOX}/.keras/models"]
    args += ["--bind", str(runtime_dir), str(runtime_dir)]
    args += ["--bind", str(workdir), str(workdir)]
    empty = runtime_dir / "empty.ipynb"
    empty.touch()
    for notebook in sorted(workdir.rglob("*.ipynb")):
        args += ["--ro-bind", str(empty), str(notebook)]
    args += ["--remount-ro", "/"]  # the new root itself (mount points only) is read-only
    env = _kernel_env(MANIFEST_IN_SANDBOX)
    if lifeline is not None:
        env[lifeline_module.VARIABLE] = str(lifeline)
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", str(workdir), "--", *command]
    return args


@functools.cache
def probe(bwrap: str | None = None) -> str | None:
    """Whether the sandbox can start here: None when it can, else the reason (one line)."""
    exe = bwrap or shutil.which("bwrap")
    if not exe:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    test = [exe, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", "1000"]
    test += ["--ro-bind", "/usr", "/usr", *_root_links(), "--proc", "/proc", "--dev", "/dev"]
    test += ["--", sys.executable if sys.executable.startswith("/usr") else "/bin/true"]
    if test[-1] != "/bin/true":
        test += ["-c", "pass"]
    try:
        result = subprocess.run(test, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap did not run: {error}"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return (
            f"bubblewrap cannot create its namespaces here ({detail}); user namespaces may be"
            " disabled (sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces)"
        )
    return None


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send us ``sig`` (default SIGKILL) when our parent dies; kept by ``exec``.

    nbgrader's death reaches the launcher as SIGTERM, which `supervise` catches to stop the
    sandbox; bwrap's process, forked by the launcher, asks for SIGKILL before its ``exec``.
    The grading workers (`grading.worker`) ask SIGKILL of their parent,
    ``tools/course.py autograde``: killed, it leaves no worker grading on. A parent that died
    before the request leaves us with another parent: then we go at once.
    """
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    if libc.prctl(pr_set_pdeathsig, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request: go now
        raise SystemExit("grading sandbox: the grader is gone")


class _Stop(Exception):
    """A signal (SIGTERM, SIGINT, SIGHUP, or the grader's death) asked the launcher to stop."""


def _raise_stop(signum, _frame):
    raise _Stop(signum)


class _ChildPid:
    """bwrap's ``--info-fd`` report, read to its end: the host pid of the namespace's pid 1."""

    def __init__(self, fd: int):
        self.fd, self.data, self.done = fd, b"", False

    def read(self, timeout: float | None = None) -> int | None:
        """Read until bwrap closes the report (or ``timeout`` s pass); return the pid if known."""
        import select

        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self.fd], [], [], left)[0]:
                break  # timed out
            chunk = os.read(self.fd, 4096)
            self.data += chunk
            self.done = not chunk
        try:
            return int(json.loads(self.data)["child-pid"])
        except (ValueError, KeyError, TypeError):
            return None


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def supervise(args: list[str], inherited: tuple[int, ...], report: _ChildPid) -> int:
    """Run bwrap (``args``) as our child; return its exit status, or stop it on a signal.

    The launcher stays bwrap's parent instead of becoming it, for two reasons:

    * bwrap 0.8 has a start-up window in which the death of its first process leaves the
      namespace's pid 1 waiting forever for a go-ahead only that process could give (an
      eventfd), or running without ``PDEATHSIG``. So on SIGTERM (what nbgrader's death sends
      us, see `main`), SIGINT or SIGHUP we wait for bwrap's ``--info-fd`` report, SIGKILL the
      namespace's pid 1 (which takes every process in the namespace along), then bwrap.
    * We hold the write end of `grading.lifeline`'s pipe (close-on-exec: bwrap never gets
      it), so even a launcher killed outright (SIGKILL) cuts the kernel's lifeline.

    Args:
        args: the `bwrap_argv` command line (with ``lifeline=`` and ``info_fd=``).
        inherited: the descriptors only bwrap needs (the lifeline's read end, the report's
            write end); we close our copies once bwrap has them.
        report: reads bwrap's ``--info-fd`` report.
    """
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _raise_stop)
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)  # no stop between fork and pid
    pid = os.fork()
    if pid == 0:  # the child: becomes bwrap
        try:
            for sig in _STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            die_with_parent()
            os.execv(args[0], args)
        finally:
            os._exit(127)
    try:
        for fd in inherited:
            os.close(fd)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        report.read()
        _, status = os.waitpid(pid, 0)
    except _Stop as stop:
        _stop_sandbox(pid, report)
        return 128 + stop.args[0]
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _stop_sandbox(bwrap: int, report: _ChildPid, timeout: float = 10.0) -> None:
    """SIGKILL the namespace's pid 1 (all the sandbox dies with it), then bwrap; reap bwrap."""
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # a second stop must not cut this short
    if os.waitpid(bwrap, os.WNOHANG) == (0, 0):  # bwrap lives, so its pid 1 has not been reaped
        child = report.read(timeout)
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(bwrap, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(bwrap, 0)


def _limit_resources() -> None:
    """Limits inherited by the kernel: no core dumps, no file larger than `FILE_BYTES`."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))


def _parse(argv: list[str]) -> tuple[Path, list[str]]:
    if "-f" not in argv[:-1]:
        raise SystemExit("usage: sandbox.py -f CONNECTION_FILE [kernel arguments]")
    return Path(argv[argv.index("-f") + 1]).resolve(), argv


def check_runtime_dir(folder: Path) -> None:
    """Refuse a shared folder for the connection file: the sandbox gets it read-write.

    It must be private (no access for group or others, like ``tempfile.mkdtemp``'s), so it
    holds this kernel's files only, never other kernels' connection files or keys.
    """
    mode = folder.stat().st_mode & 0o777
    if mode & 0o077:
        raise SystemExit(
            f"grading sandbox: the connection file's folder {folder} is shared (mode {mode:o});"
            " set JUPYTER_RUNTIME_DIR to a private folder (tools/course.py does)"
        )


def kernel_command(kernel_args: list[str]) -> list[str]:
    """What runs in the sandbox: `grading.kernel` with ipykernel's arguments."""
    return [sys.executable, str(ROOT / "tools" / "grading" / "kernel.py"), *kernel_args]


def main(argv: list[str] | None = None) -> None:
    """Exec the grading kernel, sandboxed or not as ``WORKBOOK_GRADING_MODE`` says."""
    argv = sys.argv[1:] if argv is None else argv
    connection, kernel_args = _parse(argv)
    mode = os.environ.get("WORKBOOK_GRADING_MODE", "bwrap")
    manifest = Path(os.environ["WORKBOOK_GRADING_MANIFEST"])
    command = kernel_command(kernel_args)
    _limit_resources()
    if mode == "none":  # the honest fallback: same kernel and guard, no isolation
        die_with_parent()  # kept by the exec: the kernel dies with nbgrader
        env = dict(os.environ, WORKBOOK_OFFLINE="1", WORKBOOK_GRADING_MANIFEST=str(manifest))
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tools")])
        os.execve(sys.executable, command, env)
    if mode != "bwrap":
        raise SystemExit(f"WORKBOOK_GRADING_MODE={mode!r}; expected one of {MODES}")
    die_with_parent(signal.SIGTERM)  # caught by `supervise`, which stops the sandbox first
    reason = probe()
    if reason:
        raise SystemExit(f"grading sandbox unavailable: {reason}")
    check_runtime_dir(connection.parent)
    lifeline_read, _lifeline_write = os.pipe()  # ours stays open (close-on-exec) until we exit
    report_read, report_write = os.pipe()
    for fd in (lifeline_read, report_write):
        os.set_inheritable(fd, True)
    workdir = Path.cwd().resolve()
    bwrap = shutil.which("bwrap")
    args = bwrap_argv(
        workdir, connection.parent, manifest, command, bwrap, lifeline_read, report_write
    )
    sys.exit(supervise(args, (lifeline_read, report_write), _ChildPid(report_read)))


def write_kernelspec(folder: Path, mode: str, manifest: Path) -> Path:
    """Write the ``workbook-grading`` kernelspec under ``folder/kernels`` (for JUPYTER_PATH)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}; expected one of {MODES}")
    spec = folder / "kernels" / "workbook-grading"
    spec.mkdir(parents=True, exist_ok=True)
    kernel = {
        "argv": [sys.executable, str(Path(__file__).resolve()), "-f", "{connection_file}"],
        "display_name": f"Workbook grading ({'sandboxed' if mode == 'bwrap' else 'UNSANDBOXED'})",
        "language": "python",
        "interrupt_mode": "message",
        "env": {"WORKBOOK_GRADING_MODE": mode, "WORKBOOK_GRADING_MANIFEST": str(manifest)},
        "metadata": {"debugger": False},
    }
    with atomic_open(spec / "kernel.json", "w") as handle:
        json.dump(kernel, handle, indent=1)
    return spec


if __name__ == "__main__":
    main()
