"""Build, execute and run the workbook's notebooks.

Each notebook has one source of truth, ``notebooks/src/NN_topic.py``, in jupytext's "percent"
format: cells start with ``# %%`` (code) or ``# %% [markdown]``, and cell metadata sits in the
header as JSON, e.g. ``# %% tags=["parameters"]`` (papermill's parameter cell) or
``# %% nbgrader={"grade": true, "grade_id": "check_ex1", "points": 2, ...}`` (a graded cell).
Every ``notebooks/NN_topic.ipynb`` is *paired* with its source (notebook metadata
``jupytext.formats = "ipynb,src//py:percent"``): in JupyterLab with jupytext installed (``make
lab``), saving the notebook updates the source, so work done in either file is kept.

What jupytext cannot know lives here: the standard setup cell (tagged ``setup``, its code hidden
in JupyterLab, Colab and the course website) and the "Open in Colab" badge, both generated from
`setup_cell` and `colab_badge` with the repository URL of ``pyproject.toml``'s ``[tool.workbook]``
(`tools/project.py`); ``check`` fails when a source's copy differs, ``sync`` rewrites them.

Kernels are started with CurveZMQ keys from the kernel manager (`kernel_config`), so the kernel's
messages are encrypted and it does not warn "Kernel is running over TCP without encryption".

Commands (``python tools/notebooks.py CMD [NN ...]``; NN selects notebooks by prefix):

* ``build``   -- update ``notebooks/NN_topic.ipynb`` from its source, keeping the outputs of
  unchanged cells. If the notebook was edited after its source (outside a jupytext-enabled
  JupyterLab), it refuses and says how to bring the edit into the source.
* ``execute`` -- build, then execute in place from ``notebooks/`` so outputs can be committed.
* ``run``     -- execute copies into ``build/``, render HTML beside them, print a status table.
* ``check``   -- fail if a committed notebook's cells differ from its source, or a source's
  setup cell or badge differs from the standard one.
* ``sync``    -- rewrite every source's setup cell and badge from the standard ones.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from project import repository_url

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT))

from workbook.atomic import atomic_open  # noqa: E402

KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
FORMAT = "py:percent"
#: How every notebook is paired with its source, and which metadata the source keeps.
JUPYTEXT = {
    "formats": "ipynb,src//py:percent",
    "notebook_metadata_filter": "-all",
    "cell_metadata_filter": "tags,nbgrader,jupyter,-all",
}
#: Where the workbook is published (``[tool.workbook] repository`` in pyproject.toml).
REPOSITORY = repository_url()
#: The setup cell's metadata: its tag, and its code hidden in JupyterLab (``jupyter``) and on the
#: course website (``hide-input``); on Colab the ``@title`` line makes it a form, code hidden.
SETUP_METADATA = {"jupyter": {"source_hidden": True}, "tags": ["setup", "hide-input"]}
#: The setup cell, with ``{url}`` the repository. On Colab (and only there: Colab sets
#: ``COLAB_RELEASE_TAG``) the workbook is not installed when it runs, so the cell installs it with
#: pip from the repository; `workbook.setup_notebook` then does the rest (the course data).
_SETUP_TEMPLATE = """\
# @title Setup (on Google Colab it installs the workbook first) {{ display-mode: "form" }}
import importlib.util
import os
import subprocess
import sys

if "COLAB_RELEASE_TAG" in os.environ and importlib.util.find_spec("workbook") is None:
    url = "git+{url}"
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", url])
    importlib.invalidate_caches()
import workbook

workbook.setup_notebook()  # seeds, quiet logs, figure defaults; on Colab also the course data"""
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def setup_cell(url: str = REPOSITORY) -> str:
    """The source of the standard setup cell, which installs from repository ``url`` on Colab."""
    return _SETUP_TEMPLATE.format(url=url)


def colab_badge(stem: str, url: str = REPOSITORY) -> str:
    """Markdown for the "Open in Colab" badge of notebook ``stem`` in repository ``url``."""
    repo = url.removeprefix("https://github.com/")
    target = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{stem}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({target})"


SETUP_CELL = setup_cell()


def kernel_config():
    """The traitlets configuration of the kernels that `execute` starts.

    The kernel manager provisions CurveZMQ keys when the kernel supports them (ipykernel 7
    declares it in its kernelspec), so the messages between this process and the kernel are
    encrypted, and ipykernel does not warn that it runs "over TCP without encryption". Without
    CurveZMQ in pyzmq (a rare build), or with a jupyter_client older than 8.10 (which has no
    such setting; the ipykernel of its time does not warn either), the kernel runs unencrypted
    on localhost, as before.
    """
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    config = Config()
    if zmq.has("curve") and KernelManager.class_traits().get("transport_encryption"):
        config.KernelManager.transport_encryption = "auto"
    return config


def read_source(path: Path) -> nbformat.NotebookNode:
    """Read a percent-format source as a notebook (no outputs), with stable cell ids.

    A graded or solution cell is named after its nbgrader ``grade_id``; other cells get
    ``cell-NNN`` by position, so a rebuild changes no id that did not move.
    """
    nb = jupytext.read(path, fmt=FORMAT)
    nb.metadata = {"kernelspec": KERNEL, "language_info": {"name": "python"}, "jupytext": JUPYTEXT}
    for index, cell in enumerate(nb.cells):
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _inputs(nb) -> list[tuple]:
    """What a notebook's author wrote: cell types, sources and the metadata sources keep."""
    keep = ("tags", "nbgrader")
    return [
        (c.cell_type, c.source, {k: c.metadata[k] for k in keep if k in c.metadata})
        for c in nb.cells
    ]


def build(path: Path) -> nbformat.NotebookNode:
    """Return the notebook of source ``path``, with the committed outputs of unchanged cells."""
    nb = read_source(path)
    target = NOTEBOOKS / f"{path.stem}.ipynb"
    if target.is_file():
        committed = nbformat.read(target, as_version=4)
        nb = combine_inputs_with_outputs(nb, committed, fmt=FORMAT)
        fresh = read_source(path)
        for cell, clean in zip(nb.cells, fresh.cells, strict=True):
            cell.id = clean.id
        nb.metadata = fresh.metadata
    return nb


def _edited_after_source(path: Path) -> bool:
    """True when the notebook's inputs differ from its source and the notebook is newer."""
    target = NOTEBOOKS / f"{path.stem}.ipynb"
    if not target.is_file() or target.stat().st_mtime <= path.stat().st_mtime:
        return False
    committed = nbformat.read(target, as_version=4)
    return _inputs(committed) != _inputs(read_source(path))


def _standard_problems(path: Path) -> list[str]:
    """How a source's setup cell and badge differ from the standard ones (empty if not)."""
    nb = read_source(path)
    problems = []
    setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
    if len(setup) != 1 or setup[0].source != SETUP_CELL:
        problems.append("setup cell differs from tools/notebooks.py setup_cell()")
    elif {k: setup[0].metadata.get(k) for k in SETUP_METADATA} != SETUP_METADATA:
        problems.append(f"setup cell metadata is not {SETUP_METADATA}")
    badges = [m for c in nb.cells if c.cell_type == "markdown" for m in _BADGE.findall(c.source)]
    if badges != [colab_badge(path.stem)]:
        problems.append("Colab badge missing or pointing elsewhere")
    return problems


def _select(stems: list[str]) -> list[Path]:
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if stems:
        sources = [p for p in sources if any(p.stem.startswith(s) for s in stems)]
    if not sources:
        raise SystemExit(f"no notebook sources match {stems} in {SRC}")
    return sources


def _write(nb, path: Path) -> None:
    with atomic_open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def execute(nb, cwd: Path, timeout: int = 1200):
    """Execute ``nb`` in place with a fresh ``python3`` kernel started in ``cwd``."""
    from nbclient import NotebookClient

    NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(cwd)}},
        config=kernel_config(),
    ).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
    # what the kernel adds (its Python version, widget state) differs between machines
    nb.metadata = {
        key: nb.metadata[key] for key in ("kernelspec", "jupytext") if key in nb.metadata
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def _refuse_to_overwrite_edits(src: Path) -> None:
    if _edited_after_source(src):
        raise SystemExit(
            f"notebooks/{src.stem}.ipynb was edited after its source; bring the edit into"
            f" notebooks/src/{src.name} first: `jupytext --sync notebooks/{src.stem}.ipynb`"
            " (or open and save it in `make lab`), or discard it with `git checkout`."
        )


def cmd_build(stems):
    for src in _select(stems):
        _refuse_to_overwrite_edits(src)
        _write(build(src), NOTEBOOKS / f"{src.stem}.ipynb")
        print(f"built notebooks/{src.stem}.ipynb")


def cmd_execute(stems):
    for src in _select(stems):
        _refuse_to_overwrite_edits(src)
        start = time.time()
        nb = execute(read_source(src), NOTEBOOKS)
        _write(nb, NOTEBOOKS / f"{src.stem}.ipynb")
        size = (NOTEBOOKS / f"{src.stem}.ipynb").stat().st_size / 1e6
        print(
            f"executed notebooks/{src.stem}.ipynb in {time.time() - start:.0f} s ({size:.2f} MB)",
            flush=True,
        )


def cmd_run(stems):
    """Execute every notebook into build/, render HTML and print notebook, status, seconds.

    One line per notebook as it finishes, an overall progress bar on stderr (when it is a
    terminal), then the table; build/index.html links the executed notebooks.
    """
    from book import html_exporter, run_index  # tools/book.py: offline HTML, build/index.html
    from tqdm import tqdm

    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    sources, rows = _select(stems), []
    bar = tqdm(total=len(sources), unit="notebook", file=sys.stderr, disable=None)
    for number, src in enumerate(sources, start=1):
        bar.set_description(src.stem)
        start, status = time.time(), "ok"
        nb = read_source(src)
        try:
            execute(nb, NOTEBOOKS)
        except Exception as error:  # keep going: the table reports every notebook
            status = f"FAILED: {type(error).__name__}"
            tqdm.write(str(error)[-2000:])
        seconds = time.time() - start
        _write(nb, out / f"{src.stem}.ipynb")
        html, _ = html_exporter(out).from_notebook_node(nb)
        (out / f"{src.stem}.html").write_text(html)
        rows.append((src.stem, status, seconds))
        tqdm.write(
            f"[{number}/{len(sources)}] {src.stem}: {status} in {seconds:.0f} s"
            f" -> build/{src.stem}.html"
        )
        sys.stdout.flush()
        bar.update()
    bar.set_description("all notebooks")
    bar.close()
    width = max(len(r[0]) for r in rows)
    print(f"\n{'notebook':<{width}}  {'status':<10}  seconds")
    for stem, status, seconds in rows:
        print(f"{stem:<{width}}  {status:<10}  {seconds:7.1f}")
    print(f"\nindex of the executed notebooks: {run_index(rows, out).relative_to(ROOT)}")
    if any(r[1] != "ok" for r in rows):
        raise SystemExit(1)


def cmd_check(stems):
    stale, nonstandard = [], []
    for src in _select(stems):
        committed = nbformat.read(NOTEBOOKS / f"{src.stem}.ipynb", as_version=4)
        if _inputs(committed) != _inputs(read_source(src)):
            stale.append(src.stem)
        nonstandard += [f"{src.name}: {problem}" for problem in _standard_problems(src)]
    if stale:
        raise SystemExit(f"notebooks out of date with notebooks/src: {stale}; run `make notebooks`")
    if nonstandard:
        raise SystemExit("; ".join(nonstandard) + "; run `python tools/notebooks.py sync`")
    print("notebooks match their sources")


def cmd_sync(stems):
    """Rewrite the setup cell and the Colab badge of every source from the standard ones."""
    for src in _select(stems):
        nb = jupytext.read(src, fmt=FORMAT)
        badge = colab_badge(src.stem)
        for cell in nb.cells:
            if "setup" in cell.metadata.get("tags", []):
                cell.source = SETUP_CELL
                tags = cell.metadata["tags"]
                tags += [tag for tag in SETUP_METADATA["tags"] if tag not in tags]
                cell.metadata["jupyter"] = copy.deepcopy(SETUP_METADATA["jupyter"])
                # sorted, as in the .ipynb, so that saving it from JupyterLab changes nothing
                cell.metadata = dict(sorted(cell.metadata.items()))
            elif cell.cell_type == "markdown":
                cell.source = _BADGE.sub(lambda _, badge=badge: badge, cell.source)
        nb.metadata = copy.deepcopy({"jupytext": JUPYTEXT})
        text = jupytext.writes(nb, fmt=FORMAT)
        if text != src.read_text():
            src.write_text(text)
            print(f"synced notebooks/src/{src.name}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build", "execute", "run", "check", "sync"])
    parser.add_argument("notebooks", nargs="*", help="notebook number prefixes, e.g. 01 07")
    args = parser.parse_args(argv)
    globals()[f"cmd_{args.command}"](args.notebooks)


if __name__ == "__main__":
    main()
