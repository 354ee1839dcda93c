"""The course website's sources and `make run`'s index, without a browser (tools/book.py).

The browser tests (tests/browser/test_book_site.py) look at the built site; these check what
goes into it: the README's order, the notebooks' goals, the launch buttons, offline math.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

import notebooks as nbtools  # noqa: E402

NOTEBOOK_STEMS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _nb(markdown: str, outputs=None) -> dict:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": markdown}]
    cells.append({"cell_type": "code", "metadata": {}, "source": "x", "outputs": outputs or []})
    return {"cells": cells, "metadata": {"widgets": {"state": {}}}, "nbformat": 4}


def test_reading_order_is_the_readme_table():
    entries = book.reading_order(book.README.read_text())
    assert [e.stem for e in entries] == NOTEBOOK_STEMS
    assert all(e.teaches and "|" not in e.teaches for e in entries)


def test_reading_order_follows_the_table_not_the_file_names():
    readme = (
        "# T\n\n## Start here: the notebooks\n\n| notebook | what it teaches | time |\n"
        "| --- | --- | --- |\n| [02_b](notebooks/02_b.ipynb) | second | 1 s |\n"
        "| [01_a](notebooks/01_a.ipynb) | first, with $x$ | 2 s |\n\n## Layout\n"
        "| [03_c](notebooks/03_c.ipynb) | not in the section | 1 s |\n"
    )
    entries = book.reading_order(readme)
    assert [(e.stem, e.teaches) for e in entries] == [
        ("02_b", "second"),
        ("01_a", "first, with $x$"),
    ]


def test_reading_order_says_what_is_missing():
    with pytest.raises(ValueError, match="Start here"):
        book.reading_order("# T\n\n## Quick start\n")
    with pytest.raises(ValueError, match="lists no notebook"):
        book.reading_order("# T\n\n## Start here\n\nNothing yet.\n")


BULLETS = "# T\n\n**You will**\n- do a;\n- do b over\n  two lines.\n\n**Next**"
PARAGRAPH = "# T\n\n**You will** implement $J$ and\nlook at it.\n\n**Prerequisites:** none"
NUMBERED = "# T\n\nIn this notebook we\n\n1. write one,\n2. run two.\n\nMore."


@pytest.mark.parametrize(
    "markdown, goals",
    [
        (BULLETS, ["do a;", "do b over two lines."]),
        (PARAGRAPH, ["implement $J$ and look at it."]),
        (NUMBERED, ["write one,", "run two."]),
    ],
    ids=["bullets", "paragraph", "numbered"],
)
def test_learning_goals_in_each_style_the_notebooks_use(markdown, goals):
    assert book.learning_goals(_nb(markdown)) == goals


def test_every_notebook_has_a_title_and_goals():
    for stem in NOTEBOOK_STEMS:
        nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
        assert book.notebook_title(nb) and book.learning_goals(nb), stem


def test_learning_goals_missing_is_an_error():
    with pytest.raises(ValueError, match="goals"):
        book.learning_goals(_nb("# T\n\nJust prose."))


def test_book_notebook_drops_the_badge_and_the_widget_views():
    badge = nbtools.colab_badge("05_face_recognition_system")
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "a"}, "text/plain": "VBox()"}
    nb = _nb(f"# Title\n\n{badge}\n\nText.", [{"output_type": "display_data", "data": widget}])
    original = copy.deepcopy(nb)
    shown = book.book_notebook(nb)
    assert nb == original, "the committed notebook must not change"
    assert "colab-badge" not in shown["cells"][0]["source"]
    assert shown["cells"][0]["source"].startswith("# Title\n\n")
    assert shown["cells"][1]["outputs"][0]["data"] == {"text/plain": book.WIDGET_NOTE}
    assert "widgets" not in shown["metadata"]


def test_config_builds_offline_without_executing():
    config = book.book_config("A title", book.repo_url())
    assert config["execute"]["execute_notebooks"] == "off"
    sphinx = config["sphinx"]["config"]
    assert "://" not in sphinx["mathjax_path"] and sphinx["mathjax_path"].startswith("mathjax/")
    assert sphinx["intersphinx_mapping"] == {} and sphinx["nb_ipywidgets_js"] == {}
    assert "_static" not in sphinx["html_static_path"]
    buttons = config["launch_buttons"]
    assert (
        buttons["colab_url"].startswith("https://colab.") and "mybinder" in buttons["binderhub_url"]
    )
    assert config["repository"] == {
        "url": book.repo_url(),
        "path_to_book": "notebooks",
        "branch": "main",
    }


def test_repo_url_is_the_one_the_notebooks_use():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as handle:
        configured = tomllib.load(handle)["tool"]["workbook"]["repository"]
    assert book.repo_url() == configured.rstrip("/") == nbtools.REPOSITORY
    assert f'url = "git+{book.repo_url()}"' in nbtools.SETUP_CELL
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", book.repo_url())


def test_stage_writes_a_book_in_readme_order(tmp_path):
    src = tmp_path / "src"
    entries = book.stage(src)
    toc = yaml.safe_load((src / "_toc.yml").read_text())
    assert toc["root"] == "intro"
    assert [c["file"] for c in toc["chapters"]] == [e.stem for e in entries] == NOTEBOOK_STEMS
    assert (
        yaml.safe_load((src / "_config.yml").read_text())["execute"]["execute_notebooks"] == "off"
    )
    intro = (src / "intro.md").read_text()
    positions = []
    for entry in entries:
        nb = json.loads((ROOT / "notebooks" / f"{entry.stem}.ipynb").read_text())
        positions.append(intro.index(f"[{book.notebook_title(nb)}]({entry.stem}.ipynb)"))
        assert book.learning_goals(nb)[0] in intro and entry.teaches in intro
        assert (src / f"{entry.stem}.ipynb").exists()
    assert positions == sorted(positions)
    assert (src / "_mathjax" / "mathjax" / "MathJax.js").exists()
    assert not (src / "_static").exists(), "jupyter-book would add every .js file in _static"


def test_stage_says_which_notebook_is_missing(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# T\n\nSummary.\n\n## Start here\n\n| [01_gone](notebooks/01_gone.ipynb) | x | 1 |\n"
    )
    with pytest.raises(FileNotFoundError, match="01_gone"):
        book.stage(tmp_path / "src", readme, tmp_path)


def test_copy_mathjax_adds_the_local_configuration(tmp_path):
    dest = book.copy_mathjax(tmp_path / "mathjax")
    local = (dest / "config" / "local" / "workbook.js").read_text()
    assert "STIX-Web" in local and 'loadComplete("[MathJax]/config/local/workbook.js")' in local
    for name in book.MATHJAX_QUERY.removeprefix("config=").split(",")[:2]:
        assert (dest / "config" / f"{name}.js").exists(), name


def test_html_exporter_pages_load_nothing_from_another_site(tmp_path):
    nb = nbtools.build(nbtools.SRC / "01_one_shot_learning.py")
    html, _ = book.html_exporter(tmp_path).from_notebook_node(nb)
    remote = re.findall(r"""<(?:script|img|link)\b[^>]*(?:src|href)=["']https?://[^"']*""", html)
    assert remote == []
    assert f'src="mathjax/MathJax.js?{book.MATHJAX_QUERY}"' in html
    assert (tmp_path / "mathjax" / "config" / "local" / "workbook.js").exists()


def test_run_index_links_each_notebook_with_status_and_time(tmp_path):
    (tmp_path / "01_a.html").write_text("<html></html>")
    rows = [("01_a", "ok", 12.34), ("02_b", "FAILED: CellExecutionError", 3.0)]
    page = book.run_index(rows, tmp_path).read_text()
    assert '<a href="01_a.html">01_a</a>' in page and ">12.3<" in page
    assert 'class="failed"' in page and "FAILED: CellExecutionError" in page
    assert 'href="02_b.html"' not in page, "no link to a page that was not written"


def test_make_run_writes_the_index(tmp_path, monkeypatch):
    """`tools/notebooks.py run` ends by writing build/index.html (execution mocked out)."""
    monkeypatch.setattr(nbtools, "ROOT", tmp_path)
    monkeypatch.setattr(nbtools, "execute", lambda nb, cwd, timeout=1200: nb)
    nbtools.cmd_run(["01"])
    index = (tmp_path / "build" / "index.html").read_text()
    assert 'href="01_one_shot_learning.html"' in index and ">ok<" in index
    assert "mathjax/MathJax.js" in (tmp_path / "build" / "01_one_shot_learning.html").read_text()
