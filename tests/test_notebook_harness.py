"""Every notebook follows the workbook's format, and nbgrader's student versions are sound."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import course as course_tools  # noqa: E402

import notebooks as nbtools  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem[:2] for p in NOTEBOOKS]


def grader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_every_source_has_a_committed_notebook_and_back():
    sources = {p.stem for p in (ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")}
    assert sources == {p.stem for p in NOTEBOOKS}


def test_committed_notebooks_match_their_sources():
    nbtools.cmd_check([])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_front_matter_and_outputs(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert (
        "colab.research.google.com/github/" in first.source and f"{path.stem}.ipynb" in first.source
    )
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == nbtools.SETUP_CELL, (
        "the first code cell must be the standard setup cell"
    )
    assert any("parameters" in c.metadata.get("tags", []) for c in code), (
        "no papermill parameters cell"
    )
    assert all(c.get("execution_count") for c in code), (
        "notebook is not fully executed (make notebooks)"
    )
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    assert path.stat().st_size < 2_000_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_use_nbgrader_markers_and_checks(path):
    nb = nbformat.read(path, as_version=4)
    ids = [grader(c)["grade_id"] for c in nb.cells if grader(c)]
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    for cell in nb.cells:
        meta = grader(cell)
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        if meta.get("grade"):
            assert meta["points"] > 0 and meta["locked"]
            assert re.search(r"\bcheck_\w+\(", cell.source), "graded cells call a check_* function"


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    course_tools.student(out)
    return out


def _code(nb, kind):
    return [c for c in nb.cells if c.cell_type == "code" and grader(c).get(kind)]


def test_student_versions_have_no_solutions_or_hidden_tests(student_dir):
    for path in NOTEBOOKS:
        solved = nbformat.read(path, as_version=4)
        stub = nbformat.read(student_dir / path.name, as_version=4)
        assert len(stub.cells) == len(solved.cells)
        text = json.dumps([c.source for c in stub.cells])
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
            assert marker not in text, f"{path.name}: {marker} left in the student version"
        for cell in _code(stub, "solution"):
            assert "raise NotImplementedError()" in cell.source
        for original, cell in zip(_code(solved, "solution"), _code(stub, "solution"), strict=True):
            body = original.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            for line in filter(None, (line.strip() for line in body.splitlines())):
                assert line not in cell.source, f"{path.name}: solution line {line!r} leaked"
        assert all(not c.get("outputs") for c in stub.cells if c.cell_type == "code")


def _namespace_for(nb) -> dict:
    """Run the setup, imports and parameters cells: what the exercise cells may rely on."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    namespace: dict = {"__name__": "__student__"}
    for cell in code[:2] + [c for c in code if "parameters" in c.metadata.get("tags", [])]:
        exec(compile(cell.source, "<cell>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_check_fails_on_the_student_stubs(student_dir, path):
    stub = nbformat.read(student_dir / path.name, as_version=4)
    namespace = _namespace_for(stub)
    for cell in _code(stub, "solution"):
        exec(compile(cell.source, "<stub>", "exec"), namespace)
    for cell in _code(stub, "grade"):
        name = grader(cell)["grade_id"]
        try:
            exec(compile(cell.source, name, "exec"), namespace)
        except (AssertionError, NotImplementedError):
            continue
        except Exception as error:  # a test cell must only depend on the exercise it grades
            pytest.fail(f"{path.name}:{name} raised {type(error).__name__}: {error}")
        pytest.fail(f"{path.name}:{name} passed on the student stub")


def test_colab_setup_cell_installs_on_colab_only(tmp_path):
    calls = []
    fake = mock.Mock(side_effect=lambda command: calls.append(command))
    with (
        mock.patch("subprocess.check_call", fake),
        mock.patch.dict(os.environ, {"COLAB_RELEASE_TAG": "x"}),
    ):
        with mock.patch("workbook.setup_notebook"):
            exec(compile(nbtools.SETUP_CELL, "<setup>", "exec"), {})
    checkout = nbtools.COLAB_CHECKOUT
    assert calls[0][:3] == ["git", "clone", "--depth"] and calls[0][-1] == checkout
    assert calls[1][1:] == ["-m", "pip", "install", "-q", "-e", checkout]
    assert calls[2][1:] == ["-m", "workbook.fetch_data", "--root", checkout]

    calls.clear()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLAB_")}
    with mock.patch("subprocess.check_call", fake), mock.patch.dict(os.environ, env, clear=True):
        with mock.patch("workbook.setup_notebook") as setup:
            exec(compile(nbtools.SETUP_CELL, "<setup>", "exec"), {})
    assert calls == [] and setup.called


def test_setup_cell_is_valid_python_and_quiet():
    ast.parse(nbtools.SETUP_CELL)
    code = "exec(compile(open(0).read(), 'setup', 'exec')); import keras; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=nbtools.SETUP_CELL,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"},
    )
    assert result.stdout.strip() == "ok"
    assert "cudart" not in result.stderr and "absl" not in result.stderr, result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_and_source_are_a_jupytext_pair(path):
    """Saving the notebook with jupytext (JupyterLab's pairing) reproduces its source exactly."""
    import jupytext

    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["jupytext"]["formats"] == "ipynb,src//py:percent"
    source = ROOT / "notebooks" / "src" / f"{path.stem}.py"
    assert jupytext.writes(nb, fmt="py:percent") == source.read_text()


def test_build_refuses_to_overwrite_an_edited_notebook(tmp_path, monkeypatch):
    first = NOTEBOOKS[0]
    src_dir, nb_dir = tmp_path / "src", tmp_path
    src_dir.mkdir()
    source = src_dir / f"{first.stem}.py"
    source.write_text((ROOT / "notebooks" / "src" / source.name).read_text())
    notebook = nb_dir / first.name
    nb = nbformat.read(first, as_version=4)
    nb.cells[-1].source += "\n# a student's note, typed in the .ipynb"
    nbformat.write(nb, notebook)
    monkeypatch.setattr(nbtools, "SRC", src_dir)
    monkeypatch.setattr(nbtools, "NOTEBOOKS", nb_dir)
    os.utime(source, (1, 1))  # the notebook is newer than its source
    with pytest.raises(SystemExit, match="edited after its source"):
        nbtools.cmd_build([first.stem[:2]])
    assert "a student's note" in notebook.read_text()  # nothing was lost
    os.utime(source, None)  # a newer source wins: the build goes ahead
    nbtools.cmd_build([first.stem[:2]])
    assert "a student's note" not in notebook.read_text()
