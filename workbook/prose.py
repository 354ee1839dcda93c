"""Prose that quotes results, rendered from the results, so the text cannot drift from them.

A number the notebook measures (an accuracy, a threshold, a run time, a count of errors) is
never typed into a markdown cell: a code cell renders the sentence from the computed values,

    workbook.prose.show(f"The chosen threshold is $\\tau = {tau:.2f}$; it accepts "
                        f"{far:.1%} of impostor pairs.")

and the rendered text is a cell output, which nbval compares on every run. `show` puts the
text in both the Markdown and the plain-text part of the output, so JupyterLab and the course
website render it as prose while nbval (which compares plain text) checks every number in it.

`typed_numbers` finds the numbers a notebook's markdown cells state that are not *given*: a
given number is one typed in the notebook's code (a parameter, a constant of the exercise) or
listed with its reason as a cited or lecture constant (``tests/prose_numbers.toml``). Every
other number in prose must come from `show`; ``tests/test_prose_numbers.py`` enforces it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TypedNumber", "show", "typed_numbers"]

# A number as prose writes it: 5,400 / 0.43 / 99.04 % / 1e-3 is not prose and not matched.
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s?%)?(?![\w])")


def show(markdown: str) -> None:
    """Display ``markdown`` as a cell output: rendered prose, compared by nbval as text.

    Args:
        markdown: the text, usually an f-string built from the values the notebook computed.
    """
    from IPython.display import display

    display({"text/markdown": markdown, "text/plain": markdown}, raw=True)


@dataclass(frozen=True)
class TypedNumber:
    """A number typed into a markdown cell: its text, cell index and the sentence around it."""

    text: str
    cell: int
    context: str


def _prose(source: str) -> str:
    """Markdown without what is not prose: code spans, link targets, URLs, HTML tags."""
    source = re.sub(r"`[^`]*`", " ", source)  # `size=256`: names and settings of code
    source = re.sub(r"\]\([^)]*\)", "]", source)
    source = re.sub(r"https?://\S+", " ", source)
    return re.sub(r"<[^>]+>", " ", source)


def _value(match: re.Match) -> float:
    return float(match.group(1).replace(",", "") + (match.group(2) or ""))


def _needs_a_source(match: re.Match) -> bool:
    """Small integers (counts of things, list items) and years are not results."""
    if match.group(2) or match.group(3):
        return True
    value = _value(match)
    return value >= 10 and not 1800 <= value <= 2030


def typed_numbers(notebook, allowed=()) -> list[TypedNumber]:
    """Numbers stated in markdown cells that are neither in the code nor ``allowed``.

    Args:
        notebook: an ``nbformat`` notebook (or its JSON dict).
        allowed: number texts accepted in this notebook's prose (cited or lecture constants),
            compared by value: ``"5,400"`` allows ``5400``.

    Returns:
        One `TypedNumber` per offending occurrence, in reading order.
    """
    cells = notebook["cells"]
    code = " ".join(c["source"] for c in cells if c["cell_type"] == "code")
    given = {_value(m) for m in _NUMBER.finditer(code)}
    given |= {_value(m) for text in allowed for m in _NUMBER.finditer(str(text))}
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        text = _prose(cell["source"])
        for match in _NUMBER.finditer(text):
            if _needs_a_source(match) and _value(match) not in given:
                start, end = max(0, match.start() - 50), match.end() + 30
                context = " ".join(text[start:end].split())
                found.append(TypedNumber(match.group(0).strip(), index, context))
    return found
