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


def _run_setup_cell(environ: dict, installed: bool) -> tuple[list, mock.Mock]:
    """Run the setup cell with ``environ`` as os.environ, pip and setup_notebook mocked.

    Args:
        environ: the whole environment the cell sees.
        installed: whether ``workbook`` is importable before the cell runs (False: a fresh
            Colab machine).

    Returns:
        The commands the cell ran, and the mock of `workbook.setup_notebook`.
    """
    import importlib.util

    calls = []
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "workbook" and not installed else real_find_spec(name, *args)

    with (
        mock.patch("subprocess.check_call", side_effect=lambda command: calls.append(command)),
        mock.patch("importlib.util.find_spec", side_effect=find_spec),
        mock.patch.dict(os.environ, environ, clear=True),
        mock.patch("workbook.setup_notebook") as setup,
    ):
        exec(compile(nbtools.SETUP_CELL, "<setup>", "exec"), {})
    return calls, setup


def test_setup_cell_installs_the_workbook_on_a_fresh_colab_only():
    local = {k: v for k, v in os.environ.items() if not k.startswith("COLAB_")}
    colab = {**local, "COLAB_RELEASE_TAG": "release-colab_20260101-060000_RC00"}
    pip = [sys.executable, "-m", "pip", "install", "-q", f"git+{nbtools.REPOSITORY}"]

    calls, setup = _run_setup_cell(colab, installed=False)
    assert calls == [pip] and setup.call_count == 1
    # Colab again (the cell run twice, another notebook): installed already
    calls, setup = _run_setup_cell(colab, installed=True)
    assert calls == [] and setup.call_count == 1
    # not Colab: never installs anything, even when workbook is not importable
    for installed in (True, False):
        calls, setup = _run_setup_cell(local, installed=installed)
        assert calls == [] and setup.call_count == 1


def test_setup_cell_is_short_hidden_and_lint_clean_for_any_repository():
    """A student sees a title; ruff accepts the cell even for a fork with a long name."""
    logic = [
        line
        for line in nbtools.SETUP_CELL.splitlines()
        if line and not line.startswith(("#", "import "))
    ]
    assert len(logic) <= 6, logic
    assert (
        nbtools.SETUP_CELL.startswith("# @title ")
        and 'display-mode: "form"' in (nbtools.SETUP_CELL.splitlines()[0])
    )
    long_fork = "https://github.com/a-rather-long-organisation-name/" + "x" * 60
    cell = nbtools.setup_cell(long_fork)
    source = f'# %% tags=["setup"]\n{cell}\n'
    ruff = [sys.executable, "-m", "ruff"]
    stdin = ["--stdin-filename", "notebooks/src/99_probe.py", "-"]
    fmt = subprocess.run(
        [*ruff, "format", *stdin], input=source, capture_output=True, text=True, cwd=ROOT
    )
    assert fmt.returncode == 0 and fmt.stdout == source, fmt.stdout + fmt.stderr
    lint = subprocess.run(
        [*ruff, "check", "--no-cache", *stdin],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_every_source_has_the_setup_cell_metadata():
    for src in sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")):
        nb = nbtools.read_source(src)
        setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
        assert len(setup) == 1, src.name
        assert setup[0].metadata["jupyter"] == {"source_hidden": True}, src.name
        assert "hide-input" in setup[0].metadata["tags"], src.name


def test_check_reports_a_setup_cell_that_is_not_hidden(tmp_path, monkeypatch):
    first = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))[0]
    text = first.read_text()
    header = '# %% jupyter={"source_hidden": true} tags=["setup", "hide-input"]\n'
    assert header in text
    (tmp_path / first.name).write_text(text.replace(header, '# %% tags=["setup"]\n'))
    monkeypatch.setattr(nbtools, "SRC", tmp_path)
    assert nbtools._standard_problems(tmp_path / first.name) == [
        f"setup cell metadata is not {nbtools.SETUP_METADATA}"
    ]
    nbtools.cmd_sync([first.stem[:2]])
    assert (tmp_path / first.name).read_text() == text


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


def test_run_prints_one_line_per_notebook_and_no_kernel_warnings(tmp_path):
    """`tools/notebooks.py run` on a small notebook (the real setup cell, then TensorFlow):
    the output is the notebook's line and the table, and nothing from the kernel."""
    import shutil

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("tools", "workbook"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=ignore)
    for name in ("pyproject.toml", "weights/manifest.toml", "data/manifest.toml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    header = " ".join(f"{key}={json.dumps(value)}" for key, value in nbtools.SETUP_METADATA.items())
    source = tmp_path / "notebooks" / "src" / "01_small.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        f"# %% [markdown]\n# # A small notebook\n# {nbtools.colab_badge('01_small')}\n\n"
        f"# %% {header}\n{nbtools.SETUP_CELL}\n\n"
        "# %%\nimport tensorflow as tf\n\n"
        "print(float(tf.function(lambda x: 2 * x)(tf.constant(1.0))))\n"
    )
    quiet_settings = ("TF_CPP_MIN_LOG_LEVEL", "PYDEVD_DISABLE_FILE_VALIDATION", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in quiet_settings}
    run = subprocess.run(
        [sys.executable, "tools/notebooks.py", "run"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "without encryption" not in output and "IPKernelApp" not in output, output
    assert "WARNING" not in output.upper(), output
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert re.fullmatch(r"\[1/1\] 01_small: ok in \d+ s -> build/01_small\.html", lines[0])
    assert lines[1].split() == ["notebook", "status", "seconds"]
    assert lines[2].split()[:2] == ["01_small", "ok"]
    assert lines[3] == "index of the executed notebooks: build/index.html"
    assert len(lines) == 4, lines
    assert "2.0" in (tmp_path / "build" / "01_small.ipynb").read_text()
