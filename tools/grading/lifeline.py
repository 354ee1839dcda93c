"""The sandbox's lifeline: the grading kernel exits as soon as its launcher is gone.

Why it is needed: bubblewrap's ``--die-with-parent`` asks the kernel for ``PR_SET_PDEATHSIG``
in the sandboxed process only at the very end of its set-up, just before ``exec``. If bwrap's
own process dies during that set-up (the grader was killed a few milliseconds after starting
a kernel), the request comes too late and the sandbox runs on, orphaned. About one start in
five loses that race when the grader is killed at once (`tests/test_grading_sandbox.py`).
A process can also clear its own ``PDEATHSIG`` with ``prctl``, and student code runs in the
kernel's process.

The lifeline closes both holes without trusting bwrap's timing. `grading.sandbox` stays the
parent of bwrap and holds the write end of a pipe that nobody else has (it is close-on-exec,
so bwrap never inherits it). The read end goes into the sandbox, its number in
``$WORKBOOK_GRADING_LIFELINE``. Nothing is ever written to the pipe, so a read returns only
when the launcher has exited and the kernel closed the write end: then the kernel, the
namespace's pid 1, exits and the kernel kills everything else in the namespace.

`hold` is the first thing `grading.kernel` does, before any student code exists: if the
launcher is already gone it exits at once, otherwise a daemon thread waits on the pipe.
"""

from __future__ import annotations

import os
import select
import sys
import threading

#: Environment variable naming the lifeline's file descriptor inside the sandbox.
VARIABLE = "WORKBOOK_GRADING_LIFELINE"
#: The kernel's exit status when its launcher is gone (128 + SIGHUP, "hung up").
EXIT_STATUS = 129

_exit = os._exit  # bound now: student code cannot rebind what the watcher calls


def is_cut(fd: int) -> bool:
    """Whether the pipe's write end is closed (or ``fd`` is no longer a readable pipe).

    ``poll`` reports the pipe readable (a read would return end-of-file, since nothing is
    ever written) or hung up once every write end is closed; a closed descriptor counts as cut.
    """
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        events = poller.poll(0)
    except OSError:
        return True
    return any(
        mask & (select.POLLIN | select.POLLHUP | select.POLLERR | select.POLLNVAL)
        for _, mask in events
    )


def _leave(reason: str) -> None:
    try:
        os.write(2, f"grading sandbox: {reason}; the kernel exits\n".encode())
    finally:
        _exit(EXIT_STATUS)


def _watch(fd: int) -> None:
    """Block until the lifeline is cut (end-of-file or any error), then exit the process."""
    while True:
        try:
            data = os.read(fd, 1)
        except OSError:
            break  # the descriptor was closed or replaced: treat it as cut
        if not data:
            break
    _leave("the grader is gone")


def hold(environ: dict[str, str] | None = None) -> bool:
    """Exit now if the launcher is gone; else watch the lifeline in a daemon thread.

    Args:
        environ: the environment to read `VARIABLE` from (default ``os.environ``); the
            variable is removed from it, so student code does not see it.

    Returns:
        True when a lifeline is held, False when there is none (the unsandboxed fallback,
        whose launcher execs the kernel directly, so ``PDEATHSIG`` carries over unbroken).
    """
    environ = os.environ if environ is None else environ
    value = environ.pop(VARIABLE, None)
    if value is None:
        return False
    try:
        fd = int(value)
    except ValueError:
        _leave(f"${VARIABLE}={value!r} is not a file descriptor")
    if is_cut(fd):
        _leave("the grader was gone before the kernel started")
    threading.Thread(target=_watch, args=(fd,), name="grading-lifeline", daemon=True).start()
    return True


if __name__ == "__main__":  # e.g. `python lifeline.py`: the tests' stand-in for a kernel
    hold()
    threading.Event().wait(float(sys.argv[1]) if len(sys.argv) > 1 else None)
