"""The nbval policy: same stored outputs pass on any machine, a changed number fails."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbook.nbval_policy import round_floats

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_one_shot_learning.ipynb"


def test_round_floats_to_three_significant_digits():
    assert round_floats("AUC = 0.97912, tau = 1.0204") == "AUC = 0.979, tau = 1.02"
    assert round_floats("AUC = 0.97889") == round_floats("AUC = 0.97912")
    assert round_floats("rate 7.1e-05 and -12.3456") == "rate 7.1e-05 and -12.3"
    # integers, version numbers and identifiers stay exact
    assert round_floats("918 rows, keras 3.15.1, img_0.5x") == "918 rows, keras 3.15.1, img_0.5x"
    assert round_floats("AUC = 0.979") != round_floats("AUC = 0.879")


def run_nbval(path: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        str(path),
        "-p",
        "workbook.nbval_policy",
        "--nbval-sanitize-with",
        str(ROOT / "tests" / "nbval_sanitize.cfg"),
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(path.parent),
    ]
    # the kernel imports this checkout's packages, wherever the editable install points
    env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    return subprocess.run(command, capture_output=True, text=True, cwd=path.parent, env=env)


def change_one_number(path: Path) -> str:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", []))
            if "ROC AUC = " in text:
                value = text.split("ROC AUC = ")[1][:5]
                changed = f"{float(value) - 0.1:.3f}"
                output["text"] = text.replace(f"ROC AUC = {value}", f"ROC AUC = {changed}")
                path.write_text(json.dumps(nb))
                return changed
    raise AssertionError("notebook 01 has no stored 'ROC AUC = ' output to change")


@pytest.mark.slow
def test_nbval_passes_unchanged_and_fails_on_a_changed_number(tmp_path):
    """One nbval run of notebook 01 with one stored number changed: that cell, and only that
    cell, fails (so every other stored output passes as it is, on this machine)."""
    copy = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, copy)
    changed = change_one_number(copy)
    result = run_nbval(copy)
    assert result.returncode != 0, "nbval accepted a notebook whose stored AUC was changed"
    assert changed in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b1 failed\b", summary) and re.search(r"\b\d+ passed\b", summary), (
        result.stdout[-3000:]
    )


def test_numbers_agree_within_the_approximate_tolerance_only():
    from workbook.nbval_policy import numbers_agree

    assert numbers_agree("accuracy 0.671 AUC 0.743", "accuracy 0.666 AUC 0.735")
    assert numbers_agree("recall {'sphere': 0.95}", "recall {'sphere': 0.925}")
    assert not numbers_agree("accuracy 0.671", "accuracy 0.571")  # a real change of the result
    assert not numbers_agree("accuracy 0.671", "loss 0.671")  # the text itself must not change
    assert not numbers_agree("3 errors", "3 errors, 1 crash")


def _tiny_notebook(path: Path, stored: str, tags: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('print("accuracy 0.671")', metadata={"tags": tags})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
    cell.execution_count = 1
    nb.cells = [cell]
    nbformat.write(nb, path)


@pytest.mark.parametrize(
    ("stored", "tags", "passes"),
    [
        ("accuracy 0.666\n", ["nbval-approximate"], True),  # another CPU's last digits
        ("accuracy 0.571\n", ["nbval-approximate"], False),  # a different result
        ("accuracy 0.666\n", [], False),  # untagged cells compare at 3 significant digits
    ],
)
def test_approximate_cells_accept_last_digit_noise_and_nothing_more(tmp_path, stored, tags, passes):
    path = tmp_path / "tiny.ipynb"
    _tiny_notebook(path, stored, tags)
    result = run_nbval(path)
    assert (result.returncode == 0) is passes, result.stdout[-2000:]
