"""Build, execute and run the workbook's notebooks.

Each notebook has one source of truth, ``notebooks/src/NN_topic.py``, a plain
Python file split into cells by header lines::

    # %% [markdown]                 a markdown cell; every line starts with "# "
    # %%                            a code cell
    # %% [setup]                    the standard setup cell (body is generated)
    # %% [parameters]               a code cell tagged "parameters" (papermill)
    # %% [solution id=ex1]          an nbgrader solution cell (### BEGIN/END SOLUTION inside)
    # %% [tests id=check_ex1 points=2]   an nbgrader graded, locked test cell

Markdown may contain ``{{colab_badge}}``, replaced by an "Open in Colab" badge.

Commands (``python tools/notebooks.py CMD [NN ...]``; NN selects notebooks by prefix):

* ``build``   -- regenerate ``notebooks/NN_topic.ipynb`` from the sources (outputs dropped).
* ``execute`` -- build, then execute in place from ``notebooks/`` so outputs can be committed.
* ``run``     -- execute copies into ``build/``, render HTML beside them, print a status table.
* ``check``   -- fail if a committed notebook's cells differ from its source.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))

from workbook.setup import COLAB_CHECKOUT, REPO_URL  # noqa: E402

HEADER = re.compile(r"^# %%(?: \[(?P<spec>[^\]]*)\])?\s*$")
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

SETUP_CELL = f"""\
# Setup: on Google Colab this installs the workbook and its data; elsewhere it does nothing.
import os, subprocess, sys
CHECKOUT = "{COLAB_CHECKOUT}"
if ("COLAB_RELEASE_TAG" in os.environ or "COLAB_GPU" in os.environ) and not os.path.isdir(CHECKOUT):
    subprocess.check_call(["git", "clone", "--depth", "1", "{REPO_URL}", CHECKOUT])
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "-e", CHECKOUT])
    subprocess.check_call([sys.executable, "-m", "workbook.fetch_data", "--root", CHECKOUT])
if os.path.isdir(CHECKOUT) and CHECKOUT not in sys.path:
    sys.path.insert(0, CHECKOUT)
import workbook
workbook.setup_notebook()  # seeds, quiet TensorFlow logs, small figures, GPU memory growth"""


def colab_badge(stem: str) -> str:
    """Markdown for the "Open in Colab" badge of notebook ``stem``."""
    repo = REPO_URL.removeprefix("https://github.com/")
    url = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{stem}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def _nbgrader(kind: str, options: dict) -> dict:
    meta = {
        "schema_version": 3,
        "task": False,
        "locked": kind == "tests",
        "solution": kind == "solution",
    }
    meta["grade"] = kind == "tests"
    meta["grade_id"] = options["id"]
    if kind == "tests":
        meta["points"] = int(options.get("points", 1))
    return meta


def parse_source(path: Path) -> list[dict]:
    """Split a source file into ``{"kind", "options", "source"}`` cells."""
    cells, current = [], None
    for line in path.read_text().splitlines():
        match = HEADER.match(line)
        if match:
            words = shlex.split(match.group("spec") or "code")
            options = dict(word.split("=", 1) for word in words[1:])
            current = {"kind": words[0], "options": options, "lines": []}
            cells.append(current)
        elif current is not None:
            current["lines"].append(line)
        elif line.strip():
            raise ValueError(f"{path}: text before the first '# %%' header: {line!r}")
    for cell in cells:
        lines = cell.pop("lines")
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if cell["kind"] == "markdown":
            lines = [re.sub(r"^# ?", "", line) for line in lines]
        cell["source"] = "\n".join(lines)
    return cells


def build(path: Path) -> nbformat.NotebookNode:
    """Return the notebook (without outputs) described by source file ``path``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}}
    for index, cell in enumerate(parse_source(path)):
        kind, options, source = cell["kind"], cell["options"], cell["source"]
        cell_id = options.get("id", f"cell-{index:03d}")
        if kind == "markdown":
            new = nbformat.v4.new_markdown_cell(
                source.replace("{{colab_badge}}", colab_badge(path.stem))
            )
        elif kind == "setup":
            new = nbformat.v4.new_code_cell(SETUP_CELL)
        elif kind in ("code", "parameters", "solution", "tests"):
            new = nbformat.v4.new_code_cell(source)
            if kind == "parameters":
                new.metadata["tags"] = ["parameters"]
            if kind in ("solution", "tests"):
                new.metadata["nbgrader"] = _nbgrader(kind, options)
        else:
            raise ValueError(f"{path}: unknown cell kind {kind!r}")
        new.id = cell_id
        nb.cells.append(new)
    return nb


def _select(stems: list[str]) -> list[Path]:
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if stems:
        sources = [p for p in sources if any(p.stem.startswith(s) for s in stems)]
    if not sources:
        raise SystemExit(f"no notebook sources match {stems} in {SRC}")
    return sources


def _write(nb, path: Path) -> None:
    tmp = path.with_suffix(".ipynb.tmp")
    tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(path)


def execute(nb, cwd: Path, timeout: int = 1200):
    """Execute ``nb`` in place with a fresh ``python3`` kernel started in ``cwd``."""
    from nbclient import NotebookClient

    NotebookClient(
        nb, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}}
    ).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
    return nb


def cmd_build(stems):
    for src in _select(stems):
        _write(build(src), NOTEBOOKS / f"{src.stem}.ipynb")
        print(f"built notebooks/{src.stem}.ipynb")


def cmd_execute(stems):
    for src in _select(stems):
        start = time.time()
        nb = execute(build(src), NOTEBOOKS)
        _write(nb, NOTEBOOKS / f"{src.stem}.ipynb")
        size = (NOTEBOOKS / f"{src.stem}.ipynb").stat().st_size / 1e6
        print(
            f"executed notebooks/{src.stem}.ipynb in {time.time() - start:.0f} s ({size:.2f} MB)",
            flush=True,
        )


def cmd_run(stems):
    """Execute every notebook into build/, render HTML and print notebook, status, seconds."""
    from book import html_exporter, run_index  # tools/book.py: offline HTML, build/index.html

    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    rows = []
    for src in _select(stems):
        print(f"running {src.stem} ...", flush=True)
        start, status = time.time(), "ok"
        nb = build(src)
        try:
            execute(nb, NOTEBOOKS)
        except Exception as error:  # keep going: the table reports every notebook
            status = f"FAILED: {type(error).__name__}"
            print(str(error)[-2000:], flush=True)
        seconds = time.time() - start
        _write(nb, out / f"{src.stem}.ipynb")
        html, _ = html_exporter(out).from_notebook_node(nb)
        (out / f"{src.stem}.html").write_text(html)
        rows.append((src.stem, status, seconds))
        print(f"  {status} in {seconds:.0f} s -> build/{src.stem}.html", flush=True)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'notebook':<{width}}  {'status':<10}  seconds")
    for stem, status, seconds in rows:
        print(f"{stem:<{width}}  {status:<10}  {seconds:7.1f}")
    print(f"\nindex of the executed notebooks: {run_index(rows, out).relative_to(ROOT)}")
    if any(r[1] != "ok" for r in rows):
        raise SystemExit(1)


def cmd_check(stems):
    stale = []
    for src in _select(stems):
        committed = nbformat.read(NOTEBOOKS / f"{src.stem}.ipynb", as_version=4)
        expected = build(src)
        pairs = zip(committed.cells, expected.cells, strict=False)
        if len(committed.cells) != len(expected.cells) or any(
            a.source != b.source or a.metadata.get("nbgrader") != b.metadata.get("nbgrader")
            for a, b in pairs
        ):
            stale.append(src.stem)
    if stale:
        raise SystemExit(f"notebooks out of date with notebooks/src: {stale}; run `make notebooks`")
    print("notebooks match their sources")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build", "execute", "run", "check"])
    parser.add_argument("notebooks", nargs="*", help="notebook number prefixes, e.g. 01 07")
    args = parser.parse_args(argv)
    globals()[f"cmd_{args.command}"](args.notebooks)


if __name__ == "__main__":
    main()
