"""The course website in a real browser: build the book, serve it on localhost, read it.

Each test opens a page in headless Chromium, screenshots it (``build/screenshots/``), and
fails on what a reader would see broken: a missing image, a console error, a request to
another site (the site must work offline), math left as raw TeX, or an internal link or
anchor that leads nowhere. The `make run` index and its nbconvert pages get the same check.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from pages import broken_links, inspect_page, serve, watch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

pytestmark = pytest.mark.browser

ENTRIES = book.reading_order(book.README.read_text())
#: The landing page and two notebooks: 04 (the most formulas, \mathcal among them, ROC plots)
#: and 05 (photos, the widget panel).
PAGES = ["index.html", "04_verification_binary.html", "05_face_recognition_system.html"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The book, built from the committed notebooks and served on localhost."""
    html_dir = book.build_book(tmp_path_factory.mktemp("book"))
    with serve(html_dir) as url:
        yield url


def _open(browser, url, screenshot):
    page = browser.new_page()
    seen = watch(page)
    try:
        return inspect_page(page, url, screenshot, seen)
    finally:
        page.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_reads_as_it_should(site, browser, screenshots, name):
    report = _open(browser, site + name, screenshots / f"book_{Path(name).stem}.png")
    problems = report.problems(expect_math=True)
    problems += broken_links(browser.request, report.links)
    assert not problems, f"{report.url} ({report.screenshot}):\n" + "\n".join(problems)


def test_landing_page_follows_the_readme(site, browser, screenshots):
    page = browser.new_page()
    try:
        seen = watch(page)
        inspect_page(page, site + "index.html", screenshots / "book_index.png", seen)
        headings = page.locator("h3").all_inner_texts()
        toc = page.locator("nav.bd-docs-nav a.reference.internal").evaluate_all(
            "links => links.map((a) => a.getAttribute('href'))"
        )
    finally:
        page.close()
    titles = [
        book.notebook_title(json.loads((book.NOTEBOOKS / f"{e.stem}.ipynb").read_text()))
        for e in ENTRIES
    ]
    numbered = [re.sub(r"^\d+\.\s*", "", h).rstrip("#").strip() for h in headings]
    assert numbered == titles, "the landing page's goals must follow the README's reading order"
    assert [href for href in toc if href.endswith(".html") and href[:2].isdigit()] == [
        f"{e.stem}.html" for e in ENTRIES
    ], "the navigation must follow the README's reading order"


def test_notebook_pages_have_colab_and_binder_buttons(site, browser):
    repo = book.repo_url().removeprefix("https://github.com/")
    page = browser.new_page()
    try:
        watch(page)
        for entry in ENTRIES[:2]:
            page.goto(f"{site}{entry.stem}.html")
            hrefs = page.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)")
            notebook = f"notebooks/{entry.stem}.ipynb"
            colab = f"https://colab.research.google.com/github/{repo}/blob/main/{notebook}"
            binder = f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/{notebook}"
            assert colab in hrefs and binder in hrefs, (entry.stem, [h for h in hrefs if "//" in h])
    finally:
        page.close()


def test_search_finds_a_notebook(site, browser, screenshots):
    page = browser.new_page()
    try:
        seen = watch(page)
        page.goto(site + "search.html?q=triplet")
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=30_000)
        hrefs = results.evaluate_all("links => links.map((a) => a.getAttribute('href'))")
        page.screenshot(path=str(screenshots / "book_search.png"), full_page=True)
    finally:
        page.close()
    assert any(href.startswith("03_triplet_loss.html") for href in hrefs), hrefs
    assert not seen.console_errors + seen.page_errors + seen.external_requests


def test_run_index_and_its_pages_render_offline(tmp_path, browser, screenshots):
    """`make run`'s build/index.html links each notebook's HTML, whose math renders offline."""
    import nbformat

    stem = ENTRIES[0].stem
    nb = nbformat.read(book.NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    html, _ = book.html_exporter(tmp_path).from_notebook_node(nb)
    (tmp_path / f"{stem}.html").write_text(html)
    book.run_index(
        [(stem, "ok", 12.5), ("99_missing", "FAILED: CellExecutionError", 3.0)], tmp_path
    )
    with serve(tmp_path) as url:
        index = _open(browser, url + "index.html", screenshots / "run_index.png")
        assert f"{url}{stem}.html" in index.links
        notebook = _open(browser, f"{url}{stem}.html", screenshots / f"run_{stem}.png")
        problems = index.problems(expect_math=False) + notebook.problems(expect_math=True)
        problems += broken_links(browser.request, index.links)
    assert not problems, "\n".join(problems)
