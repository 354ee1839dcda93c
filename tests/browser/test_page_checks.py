"""The page checks of the browser tests catch what they claim to catch.

One small site, served on localhost, holds one fault per page: a missing image, a script
error, a request to another site, a TeX error, math that MathJax never saw, a broken link and
a broken anchor. Each check must report its fault, and a clean page must report nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pages import broken_links, inspect_page, serve, watch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402

pytestmark = pytest.mark.browser

MATHJAX = f'<script src="mathjax/MathJax.js?{book.MATHJAX_QUERY}"></script>'
PAGES = {
    "clean.html": f'{MATHJAX}<p id="top">A formula \\(a^2 + b^2\\).</p>'
    '<a href="other.html#top">a link</a>',
    "fonts.html": f"{MATHJAX}<p>Every alphabet: \\(\\mathcal{{L}} \\mathbb{{R}} \\mathfrak{{g}}"
    " \\mathscr{S} \\boldsymbol{x}\\)</p>",
    "other.html": '<p id="top">other</p><img src="pixel.png" alt="pixel">',
    "no_image.html": '<img src="missing.png" alt="missing">',
    "script_error.html": "<script>undefinedFunction()</script>",
    "console_error.html": "<script>console.error('boom')</script>",
    "external.html": '<img src="https://example.org/logo.png" alt="remote">',
    "tex_error.html": f"{MATHJAX}<p>A broken formula \\(x^{{2}}^{{3}}\\) here.</p>",
    "tex_undefined.html": f"{MATHJAX}<p>An unknown macro \\(\\notamacro{{x}}\\).</p>",
    "raw_math.html": "<p>A formula nobody typeset: $a^2 + b^2$.</p>",
    "links.html": '<a href="nowhere.html">a</a> <a href="other.html#no-such-anchor">b</a>',
}
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201d2a0c42a0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def faulty_site(tmp_path_factory):
    """A site with one fault per page (and two clean pages)."""
    root = tmp_path_factory.mktemp("faulty_site")
    book.copy_mathjax(root / "mathjax")
    (root / "pixel.png").write_bytes(PIXEL)
    for name, body in PAGES.items():
        (root / name).write_text(
            f"<!DOCTYPE html><html><head><title>{name}</title></head><body>{body}</body></html>"
        )
    with serve(root) as url:
        yield url


def _problems(browser, url, screenshots, expect_math=False):
    page = browser.new_page()
    try:
        seen = watch(page)
        name = url.rsplit("/", 1)[-1].removesuffix(".html")
        report = inspect_page(page, url, screenshots / f"checks_{name}.png", seen)
    finally:
        page.close()
    return report.problems(expect_math) + broken_links(browser.request, report.links)


def test_a_clean_page_has_no_problem(faulty_site, browser, screenshots):
    assert _problems(browser, faulty_site + "clean.html", screenshots, expect_math=True) == []
    assert _problems(browser, faulty_site + "other.html", screenshots) == []
    assert _problems(browser, faulty_site + "fonts.html", screenshots, expect_math=True) == []


@pytest.mark.parametrize(
    "name, expected",
    [
        ("no_image.html", "missing image"),
        ("script_error.html", "uncaught error"),
        ("console_error.html", "console error: boom"),
        ("external.html", "request to another site: https://example.org/logo.png"),
        ("tex_error.html", "math error"),
        ("tex_undefined.html", "math error: '\\\\notamacro'"),
        ("raw_math.html", "math left as raw text"),
        ("links.html", "nowhere.html: page not found"),
        ("links.html", "no element with id 'no-such-anchor'"),
    ],
)
def test_each_fault_is_reported(faulty_site, browser, screenshots, name, expected):
    problems = _problems(browser, faulty_site + name, screenshots)
    assert any(expected in line for line in problems), problems
