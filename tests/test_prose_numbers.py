"""No number a notebook measures is typed into its markdown (workbook.prose)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat
import pytest

from workbook.prose import typed_numbers

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
# Notebooks whose rework (issue 14) has not landed yet: the test must still fail on them (strict
# xfail); each rework removes its number. Empty when the issue is done.
PENDING = {"02", "05", "09"}


def _cases():
    return [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="rework pending"))
        if p.stem[:2] in PENDING
        else p
        for p in NOTEBOOKS
    ]


ALLOWED = tomllib.loads((ROOT / "tests" / "prose_numbers.toml").read_text())


def test_the_finder_tells_typed_from_given_numbers():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("alpha = 0.2\nsize = 256"),
        nbformat.v4.new_markdown_cell(
            "With $\\alpha = 0.2$ at 256 px the accuracy is 97.3 % on 5,400 pairs"
            " (`steps=300`, [link](https://x.org/0.99)), in 2015, step 3."
        ),
    ]
    assert [n.text for n in typed_numbers(nb)] == ["97.3 %", "5,400"]
    assert typed_numbers(nb, allowed=["97.3", "5400"]) == []


@pytest.mark.parametrize("path", _cases(), ids=[p.stem[:2] for p in NOTEBOOKS])
def test_markdown_states_no_measured_number(path):
    entries = ALLOWED.get(path.stem[:2], {})
    typed = typed_numbers(nbformat.read(path, as_version=4), allowed=list(entries))
    assert not typed, (
        f"{path.name}: numbers typed into markdown (render them with workbook.prose.show, or"
        " list a cited/lecture constant with its reason in tests/prose_numbers.toml): "
        + "; ".join(f"cell {n.cell}: {n.text!r} in '...{n.context}...'" for n in typed)
    )


def test_every_allowed_number_says_why():
    for number, entries in ALLOWED.items():
        assert number.isdigit() and len(number) == 2, f"section {number!r}: use the notebook number"
        for text, reason in entries.items():
            assert isinstance(reason, str) and len(reason.split()) >= 3, f"{number}: {text}"
