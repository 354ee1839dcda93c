"""What every command line of the workbook promises about errors and exit codes.

``python -m fr_utils`` and ``python -m nst_utils`` share one contract, written here once:

* exit status 0: success (for ``fr_utils``: a match), 1: a clean "no" (no match, nobody
  known), 2: **any** error, whatever raised it (a bad option, a missing or unreadable
  file, corrupted weights, a damaged database, out of memory, ...), 130: interrupted;
* an error prints one ``error: ...`` line on stderr, and with ``--json`` also a JSON object
  ``{"error": message, "type": exception name}`` on stdout; never a traceback, unless the
  ``WORKBOOK_TRACEBACK`` environment variable is set (for debugging);
* argparse's own complaints (unknown option, missing argument) follow the same rule:
  parsers are built with `ArgumentParser`, whose ``error`` raises `UsageError`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NO",
    "EXIT_OK",
    "ArgumentParser",
    "UsageError",
    "error_message",
    "run",
]

EXIT_OK, EXIT_NO, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """A command line that argparse refuses (reported like every other error: status 2)."""


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` that raises `UsageError` instead of printing and exiting.

    Sub-command parsers made with ``add_subparsers`` are of this class too.
    """

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


def error_message(error: BaseException) -> str:
    """One line saying what went wrong; the exception's type is named where it is not obvious.

    Errors the workbook raises on purpose (ValueError, KeyError, OSError and their kinds)
    carry messages written for the user and are shown as they are; anything else is a
    surprise and is shown as ``Type: message``.
    """
    text = error.args[0] if isinstance(error, KeyError) and error.args else error
    text = " ".join(str(text).split())
    if isinstance(error, MemoryError):
        return f"out of memory{': ' + text if text else ''}; try smaller images"
    if not isinstance(error, (ValueError, KeyError, OSError)):
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text or type(error).__name__


def _report(message: str, kind: str, as_json: bool) -> None:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "type": kind}))


def run(command: Callable[[list[str]], int], argv: list[str], as_json: bool = False) -> int:
    """Call ``command(argv)`` and turn whatever it raises into the contract's exit status.

    Args:
        command: parses ``argv``, does the work, prints the result, returns 0 or 1.
        argv: the arguments (without the program name).
        as_json: also report errors as a JSON object on stdout.

    Returns:
        ``command``'s status, 2 if it raised an exception, 130 on Ctrl-C. ``SystemExit``
        (``--help``) passes through.
    """
    try:
        return command(argv)
    except KeyboardInterrupt:
        _report("interrupted", "KeyboardInterrupt", as_json)
        return EXIT_INTERRUPTED
    except Exception as error:  # every error is status 2 with one line, whatever raised it
        if os.environ.get("WORKBOOK_TRACEBACK"):
            raise
        _report(error_message(error), type(error).__name__, as_json)
        return EXIT_ERROR
