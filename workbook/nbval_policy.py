"""The nbval comparison policy (a pytest plugin: ``-p workbook.nbval_policy``).

nbval re-executes each notebook and compares every cell's new outputs with the
committed ones, after the regex replacements of ``tests/nbval_sanitize.cfg``
(memory addresses, temporary paths, timings). On top of those we apply two rules,
so the same committed outputs pass on CPU and GPU kernels:

1. Every decimal number is rounded to 3 significant digits before comparing
   (``0.93712`` and ``0.93689`` both read ``0.937``). Integers are compared exactly.
2. ``stderr`` streams are not compared: they hold library warnings and progress
   bars, which vary with versions and hardware. ``stdout`` and rich outputs are.

Images are not compared (nbval's default); timings and progress bars belong in
cells marked ``# NBVAL_IGNORE_OUTPUT``.
"""

from __future__ import annotations

import re

SIGNIFICANT_DIGITS = 3
_FLOAT = re.compile(
    r"(?<![\w.])-?\d+\.\d+(?:[eE][+-]?\d+)?(?![\w.])|(?<![\w.])-?\d+[eE][+-]?\d+(?![\w.])"
)


def round_floats(text: str, digits: int = SIGNIFICANT_DIGITS) -> str:
    """Rewrite every decimal number in ``text`` with ``digits`` significant digits."""

    def rounded(match: re.Match) -> str:
        value = float(match.group(0))
        return "0" if value == 0 else f"{value:.{digits}g}"

    return _FLOAT.sub(rounded, text)


def _install_nbval_policy() -> None:
    try:
        from nbval import plugin
    except ImportError:  # nbval not installed: nothing to configure
        return
    if getattr(plugin, "_workbook_policy", False):
        return
    original_sanitize = plugin.IPyNbCell.sanitize
    original_streams = plugin.transform_streams_for_comparison

    def sanitize(self, s):
        s = original_sanitize(self, s)
        return round_floats(s) if isinstance(s, str) else s

    def streams(outputs):
        kept = [
            o
            for o in outputs
            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
        ]
        return original_streams(kept)

    plugin.IPyNbCell.sanitize = sanitize
    plugin.transform_streams_for_comparison = streams
    plugin._workbook_policy = True


_install_nbval_policy()
