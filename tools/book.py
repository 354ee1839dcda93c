"""The course website (a Jupyter Book 1.x) and the index page of ``make run``.

The book is built from the committed, executed notebooks: nothing is re-executed. Everything
it says about the course comes from two places, so that nothing drifts:

* the README's "Start here" table: the reading order (the table of contents) and one line
  per notebook on what it teaches;
* each notebook's opening cell: its title and its learning goals (the first list in the cell,
  the "You will" list).

Math renders offline: MathJax 2 comes from the ``jupyter-server-mathjax`` package and is
copied next to the pages (``_static/mathjax`` in the book, ``build/mathjax`` for the HTML of
``make run``), so viewing a page makes no request to a CDN.

Commands (``python tools/book.py CMD``):

* ``build`` -- stage the notebooks and a generated landing page in ``build/book/src`` and build
  the site into ``build/book/html`` (open ``build/book/html/index.html``).
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbook import atomic  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
README = ROOT / "README.md"
BOOK = ROOT / "build" / "book"

#: The MathJax 2 configuration that `jupyter-server-mathjax` ships (TeX and MathML input,
#: HTML-CSS output), then ``Safe`` and our own local settings (`MATHJAX_LOCAL_CONFIG`).
MATHJAX_QUERY = "config=TeX-AMS-MML_HTMLorMML-full,Safe,local/workbook"
#: `jupyter-server-mathjax` ships only the STIX-Web fonts: tell MathJax to use them instead
#: of looking for its default TeX fonts (which would be 404s) or image fonts. Its "blank"
#: test font is ``url('about:blank')``, which Chromium refuses with a console error; a
#: ``local()`` font that does not exist fails just as well, silently. The hidden MathML copy
#: of each formula (for screen readers) would ask for TeX fonts that the package does not
#: ship (404s, e.g. for \mathcal): it is invisible, so it keeps the page's font.
MATHJAX_LOCAL_CONFIG = """\
MathJax.Hub.Config({
  "HTML-CSS": {
    availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
    styles: {
      "@font-face": {"font-family": "MathJax_Blank", src: "local('MathJax_Blank')"},
      ".MJX_Assistive_MathML, .MJX_Assistive_MathML *": {"font-family": "inherit !important"}
    }
  },
  messageStyle: "none"
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/workbook.js");
"""
#: pydata-sphinx-theme styles ``span.math`` for MathJax 3 (``overflow: hidden``); MathJax 2
#: names its own inner boxes ``span.math`` too, and a hidden overflow puts an inline box's
#: baseline at its bottom edge: every inline formula sat a few pixels too high.
BOOK_CSS = """\
.MathJax span.math { overflow: visible; max-width: none; }
"""
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "[Interactive panel: launch this page (rocket icon) to use it.]"
_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)[ \t]*\n?")


def repo_url() -> str:
    """The GitHub address where the workbook is published (the launch buttons point there).

    It is ``[tool.workbook] repository`` in ``pyproject.toml`` (read by `tools/project.py`),
    the same address the notebooks' badges and setup cells carry.

    Returns:
        A ``https://github.com/OWNER/NAME`` URL without a trailing slash.
    """
    from project import repository_url

    return repository_url()


@dataclass(frozen=True)
class Entry:
    """One notebook of the reading order: its file stem and what it teaches (README)."""

    stem: str
    teaches: str


def reading_order(readme: str) -> list[Entry]:
    """Read the notebooks, in order, from the README's "Start here" table.

    Args:
        readme: the text of README.md.

    Returns:
        One `Entry` per table row whose first column links ``notebooks/NN_topic.ipynb``.

    Raises:
        ValueError: no "Start here" section, or a section without notebook rows.
    """
    section = re.search(r"^## Start here.*?$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if section is None:
        raise ValueError("README.md has no '## Start here' section: the book's order comes from it")
    row = re.compile(
        r"^\|\s*\[(?P<stem>\d\d_\w+)\]\(notebooks/(?P=stem)\.ipynb\)\s*\|\s*(?P<teaches>.*?)\s*\|",
        re.M,
    )
    entries = [Entry(m["stem"], m["teaches"]) for m in row.finditer(section.group(1))]
    if not entries:
        raise ValueError(
            "README.md's 'Start here' table lists no notebook"
            " as [NN_topic](notebooks/NN_topic.ipynb)"
        )
    return entries


def _opening_markdown(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            return "".join(cell["source"])
    raise ValueError("the notebook has no markdown cell to take its title and goals from")


def notebook_title(nb: dict) -> str:
    """The text of the first ``# `` heading of a notebook's opening markdown cell."""
    match = re.search(r"^# (.+)$", _opening_markdown(nb), re.M)
    if match is None:
        raise ValueError("the notebook's opening cell has no '# Title' heading")
    return match.group(1).strip()


def _first_list(lines: list[str]) -> list[str]:
    """The items of the first markdown list in ``lines``, continuation lines joined."""
    items: list[str] = []
    for line in lines:
        marker = re.match(r"^(?:[-*]|\d+\.)\s+(.*)$", line)
        if marker:
            items.append(marker.group(1).strip())
        elif items and line.startswith(" ") and line.strip():
            items[-1] += " " + line.strip()
        elif items:
            break
    return items


def learning_goals(nb: dict) -> list[str]:
    """The learning goals of a notebook, read from its opening markdown cell.

    The goals follow a "**You will**" line, as a list or as the rest of that paragraph
    ("**You will** implement ..."); a notebook without that phrase gets the first list of
    its opening cell ("In this notebook we 1. ... 2. ...").

    Args:
        nb: a notebook as a dict (``json.load`` of the .ipynb).

    Returns:
        The goals' markdown, one string per goal, without list markers.

    Raises:
        ValueError: the opening cell has neither a "**You will**" paragraph nor a list.
    """
    text = _opening_markdown(nb)
    you_will = re.search(r"^\*\*You will\*\*:?[ \t]*(.*?)(?:\n\s*\n|\Z)", text, re.M | re.S)
    if you_will:
        rest = you_will.group(1).strip()
        if rest and not re.match(r"^(?:[-*]|\d+\.)\s", rest):
            return [" ".join(rest.split())]
        items = _first_list(rest.splitlines())
    else:
        items = _first_list(text.splitlines())
    if not items:
        raise ValueError(
            "the notebook's opening cell has no '**You will**' paragraph or list of goals"
        )
    return items


def _readme_title_and_summary(readme: str) -> tuple[str, str]:
    title = re.search(r"^# (.+)$", readme, re.M)
    if title is None:
        raise ValueError("README.md has no '# Title' line")
    after = readme[title.end() :].strip()
    summary = after.split("\n\n", 1)[0]
    return title.group(1).strip(), " ".join(summary.split())


def landing_page(readme: str, notebooks: dict[str, dict]) -> str:
    """The book's landing page (MyST markdown): what the course is and each notebook's goals.

    Args:
        readme: the text of README.md (title, first paragraph, "Start here" table).
        notebooks: ``{stem: notebook dict}`` for every notebook of the reading order.

    Returns:
        The markdown text of ``intro.md``.
    """
    title, summary = _readme_title_and_summary(readme)
    lines = [
        f"# {title}",
        "",
        summary,
        "",
        "Each notebook page has launch buttons at the top (the rocket icon): **Colab** runs it on"
        " Google's machines, **Binder** in a JupyterLab built from this repository's"
        " `environment.yml`. On your own machine, `make lab` opens the same notebooks in"
        " JupyterLab. The pages here show the notebooks as they were executed for the course,"
        " with their outputs.",
        "",
        "## Learning goals, notebook by notebook",
        "",
    ]
    for number, entry in enumerate(reading_order(readme), start=1):
        nb = notebooks[entry.stem]
        lines += [
            f"### {number}. [{notebook_title(nb)}]({entry.stem}.ipynb)",
            "",
            f"*What it teaches:* {entry.teaches}",
            "",
            "You will:",
            "",
        ]
        lines += [f"- {goal}" for goal in learning_goals(nb)]
        lines.append("")
    return "\n".join(lines)


def table_of_contents(entries: Iterable[Entry]) -> dict:
    """The ``_toc.yml`` of the book: the landing page, then the notebooks in reading order."""
    return {
        "format": "jb-book",
        "root": "intro",
        "chapters": [{"file": entry.stem} for entry in entries],
    }


def book_config(title: str, url: str) -> dict:
    """The ``_config.yml`` of the book: no execution, offline math, Colab and Binder buttons.

    Args:
        title: the book's title (the README's).
        url: the repository's GitHub URL (`repo_url`).

    Returns:
        A dict to write as YAML.
    """
    return {
        "title": title,
        "author": "the workbook's authors",
        "copyright": "the workbook's authors, MIT license",
        "only_build_toc_files": True,
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "execute": {"execute_notebooks": "off"},
        "html": {
            "use_repository_button": True,
            "use_multitoc_numbering": False,
            "home_page_in_navbar": True,
        },
        "launch_buttons": {
            "notebook_interface": "jupyterlab",
            "binderhub_url": "https://mybinder.org",
            "colab_url": "https://colab.research.google.com",
            "thebe": False,
        },
        # The staged notebooks sit at the book's root; in the repository they are in notebooks/.
        "repository": {"url": url, "path_to_book": "notebooks", "branch": "main"},
        "sphinx": {
            # this module is also a Sphinx extension (`setup`, below)
            "local_extensions": {"book": str(Path(__file__).resolve().parent)},
            "recursive_update": True,
            "config": {
                # pydata-sphinx-theme logs a console error when no default mode is set
                "html_context": {"default_mode": "auto"},
                "mathjax_path": f"mathjax/MathJax.js?{MATHJAX_QUERY}",
                # MathJax 2 finds Sphinx's \( \) and \[ \] spans; code and outputs are skipped.
                "mathjax2_config": {
                    "tex2jax": {
                        "inlineMath": [["\\(", "\\)"]],
                        "displayMath": [["\\[", "\\]"]],
                        "processEscapes": True,
                    }
                },
                "mathjax3_config": None,
                "myst_update_mathjax": False,
                "nb_ipywidgets_js": {},
                # rendered prose (workbook.prose.show) is a text/markdown output: parse it as
                # MyST, like the markdown cells, so its $math$ is typeset too
                "nb_render_markdown_format": "myst",
                "intersphinx_mapping": {},
                # not "_static": jupyter-book would add every .js file there to every page
                "html_static_path": ["_mathjax"],
                "html_css_files": ["workbook-math.css"],
                "html_show_sourcelink": False,
            },
        },
    }


def mathjax_source() -> Path:
    """The MathJax 2 tree shipped by the ``jupyter-server-mathjax`` package.

    Raises:
        ImportError: the package is missing (``pip install -e ".[book]"``).
    """
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise ImportError(
            "offline math needs MathJax from the jupyter-server-mathjax package:"
            ' pip install -e ".[book]"'
        ) from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(dest: Path) -> Path:
    """Copy MathJax into ``dest`` (replacing it) with the workbook's local configuration.

    Args:
        dest: the folder to create, e.g. ``build/mathjax``.

    Returns:
        ``dest``; pages load ``dest/MathJax.js?`` + `MATHJAX_QUERY`.
    """
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(mathjax_source(), dest)
    local = dest / "config" / "local"
    local.mkdir(parents=True, exist_ok=True)
    (local / "workbook.js").write_text(MATHJAX_LOCAL_CONFIG)
    return dest


def book_notebook(nb: dict) -> dict:
    """A copy of a notebook as the book shows it.

    The "Open in Colab" badge is dropped (the page has launch buttons; the badge is an image
    on another site), and interactive widget outputs, which need a running kernel, become a
    one-line note.
    """
    nb = copy.deepcopy(nb)
    nb["metadata"].pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = _BADGE.sub("", "".join(cell["source"]))
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/plain": WIDGET_NOTE}
    return nb


def stage(src: Path, readme_path: Path = README, notebooks_dir: Path = NOTEBOOKS) -> list[Entry]:
    """Write the book's sources into ``src``: notebooks, intro.md, _toc.yml and _config.yml.

    Args:
        src: the folder to (re)create.
        readme_path: the README that gives the order and the summary.
        notebooks_dir: where the executed ``NN_topic.ipynb`` files are.

    Returns:
        The reading order.

    Raises:
        FileNotFoundError: a notebook of the README's table does not exist.
    """
    import yaml

    readme = readme_path.read_text()
    entries = reading_order(readme)
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    notebooks = {}
    for entry in entries:
        path = notebooks_dir / f"{entry.stem}.ipynb"
        if not path.exists():
            raise FileNotFoundError(f"README.md lists {entry.stem} but {path} does not exist")
        notebooks[entry.stem] = json.loads(path.read_text())
        (src / path.name).write_text(json.dumps(book_notebook(notebooks[entry.stem]), indent=1))
    (src / "intro.md").write_text(landing_page(readme, notebooks))
    title, _ = _readme_title_and_summary(readme)
    (src / "_toc.yml").write_text(yaml.safe_dump(table_of_contents(entries), sort_keys=False))
    config = book_config(title, repo_url())
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    copy_mathjax(src / "_mathjax" / "mathjax")  # -> html/_static/mathjax
    (src / "_mathjax" / "workbook-math.css").write_text(BOOK_CSS)
    return entries


def build_book(out: Path = BOOK) -> Path:
    """Stage the book in ``out/src`` and build its HTML into ``out/html``.

    Args:
        out: the book's build folder (``build/book``).

    Returns:
        The HTML folder; its ``index.html`` is the landing page.

    Raises:
        RuntimeError: Sphinx reported an error or a warning (a broken reference, say).
    """
    src, html_dir = out / "src", out / "html"
    stage(src)
    if html_dir.exists():
        shutil.rmtree(html_dir)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(src), "--path-output", str(out / "jb"), "--all"]
    command += ["--warningiserror", "--keep-going", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(
            f"the book did not build ({' '.join(command)} exited {result.returncode}):\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    atomic.replace(out / "jb" / "_build" / "html", html_dir)  # the finished site, in one step
    return html_dir


#: nbconvert's "lab" page without its CDN scripts: require.js (needed only by the widget
#: embedder) and the widget embedder itself (widgets need a kernel to do anything).
_OFFLINE_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{% block html_head_js_requirejs %}{% endblock %}
{% block jupyter_widgets %}{% endblock %}
"""


def _drop_badges(nb, resources):
    """nbconvert preprocessor: remove the "Open in Colab" badge (an image on another site)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _BADGE.sub("", cell.source)
    return nb, resources


def html_exporter(out: Path):
    """An nbconvert `HTMLExporter` whose pages load nothing from another site.

    Math renders with a MathJax copy in ``out/mathjax``; the Colab badge and the CDN scripts
    of nbconvert's template (require.js, the widget embedder) are left out.

    Args:
        out: the folder the HTML files are written to (``build/``); MathJax is copied into
            ``out/mathjax`` unless it is there already.

    Returns:
        An ``nbconvert.HTMLExporter``.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    if not (out / "mathjax" / "config" / "local" / "workbook.js").exists():
        copy_mathjax(out / "mathjax")
    exporter = HTMLExporter(
        mathjax_url=f"mathjax/MathJax.js?{MATHJAX_QUERY}",
        extra_loaders=[DictLoader({"workbook_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="workbook_offline.html.j2",
    )
    exporter.register_preprocessor(_drop_badges, enabled=True)
    return exporter


def run_index(rows: Iterable[tuple[str, str, float]], out: Path) -> Path:
    """Write ``out/index.html``: one line per executed notebook, its status and its time.

    Args:
        rows: ``(stem, status, seconds)`` per notebook, as `make run` prints them.
        out: the folder holding ``stem.html`` (``build/``).

    Returns:
        The path of the index page.
    """
    body = []
    for stem, status, seconds in rows:
        css = "ok" if status == "ok" else "failed"
        link = f'<a href="{html.escape(stem)}.html">{html.escape(stem)}</a>'
        if not (out / f"{stem}.html").exists():
            link = html.escape(stem)
        body.append(
            f'<tr class="{css}"><td>{link}</td><td>{html.escape(status)}</td>'
            f'<td class="num">{seconds:.1f}</td></tr>'
        )
    stamp = time.strftime("%Y-%m-%d %H:%M")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Executed notebooks</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
td, th {{ padding: 0.2em 1em; text-align: left; }}
td.num {{ text-align: right; }}
tr.failed td {{ color: #b00; font-weight: bold; }}
</style></head>
<body>
<h1>Executed notebooks</h1>
<p>Written by <code>make run</code> on {stamp}. Each link opens the notebook as it ran.</p>
<table>
<tr><th>notebook</th><th>status</th><th>seconds</th></tr>
{chr(10).join(body)}
</table>
</body>
</html>
"""
    path = out / "index.html"
    path.write_text(page)
    return path


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated ``<script>`` entries from a page.

    Sphinx 7.4 lists a body-only script that an extension adds after the builder started
    twice (once from the builder, once from the registry): sphinx-thebe's
    ``const THEBE_JS_URL = ...`` then throws "Identifier has already been declared".
    """
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    """Sphinx extension entry point: the book's `_config.yml` loads this module."""
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build"])
    args = parser.parse_args(argv)
    if args.command == "build":
        start = time.time()
        html_dir = build_book()
        print(f"built {html_dir.relative_to(ROOT)}/index.html in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
