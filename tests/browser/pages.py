"""Look at a web page as a reader would, in headless Chromium, and list what is wrong with it.

`watch` records what the browser itself reports (console errors, uncaught exceptions, failed
requests, HTTP errors) and blocks every request to another host, since the course pages must
work offline. `inspect_page` then loads a page, waits for MathJax, takes a screenshot and
returns a `PageReport`; `broken_links` checks that every internal link of the visited pages
leads somewhere: the page exists and, for ``page.html#anchor``, the anchor too.
"""

from __future__ import annotations

import contextlib
import functools
import html
import http.server
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

#: Every image done (loaded or failed); lazy images are told to load now.
_IMAGES_SETTLED = """async () => {
  const images = Array.from(document.images);
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done); img.addEventListener("error", done);
  })));
  return images.filter((img) => img.naturalWidth === 0).map((img) => img.currentSrc || img.src);
}"""

#: MathJax 2 has typeset the page (its "End" startup signal; called at once if already sent).
_MATHJAX_DONE = """() => new Promise((done) => MathJax.Hub.Register.StartupHook("End", done))"""

#: Formulas found, formulas rendered, text still showing TeX delimiters, and math errors.
_MATH_STATE = r"""() => {
  const scripts = Array.from(document.querySelectorAll('script[type^="math/tex"]'));
  const rendered = scripts.filter((s) => document.getElementById(s.id + "-Frame"));
  const raw = [];
  const areas = document.querySelectorAll(
    "p, li, span.math, div.math, .jp-RenderedMarkdown, .text_cell_render");
  const tex = /\\\(|\\\[|\$\$|\$[^$\s][^$]*\$/;
  for (const area of areas) {
    const copy = area.cloneNode(true);
    const skip = copy.querySelectorAll("script, code, pre, .MathJax, .MathJax_Display");
    skip.forEach((el) => el.remove());
    const match = copy.textContent.match(tex);
    if (match) raw.push(match[0].slice(0, 60));
  }
  const errors = [];
  if (window.MathJax && MathJax.Hub && MathJax.Hub.getAllJax) {
    for (const jax of MathJax.Hub.getAllJax()) if (jax.texError) errors.push(jax.originalText);
  }
  // an undefined macro is shown in red (TeX/noUndefined), other errors as merror boxes
  const marked = ".MathJax .merror, .MathJax_Error, .MathJax .mtext[style*='color: red']";
  document.querySelectorAll(marked).forEach((el) => errors.push(el.textContent));
  if (document.body.textContent.includes("Math Processing Error")) {
    errors.push("Math Processing Error");
  }
  return {formulas: scripts.length, rendered: rendered.length, raw: [...new Set(raw)],
          errors: [...new Set(errors)]};
}"""


@dataclass
class Watch:
    """What the browser reported while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


def watch(page) -> Watch:
    """Record a Playwright page's errors, and abort its requests to other hosts.

    Args:
        page: a ``playwright.sync_api.Page``.

    Returns:
        A `Watch` that fills up as the page runs.
    """
    seen = Watch()

    def on_console(message) -> None:
        if message.type == "error":
            seen.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def on_route(route) -> None:
        if _is_local(route.request.url):
            route.continue_()
        else:
            seen.external_requests.append(route.request.url)
            route.abort("blockedbyclient")

    def on_response(response) -> None:
        if response.status >= 400:
            seen.failed_requests.append(f"HTTP {response.status} {response.url}")

    def on_failed(request) -> None:
        if _is_local(request.url):
            seen.failed_requests.append(f"{request.failure} {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.route("**/*", on_route)
    return seen


@dataclass
class PageReport:
    """A loaded page: its URL, title, screenshot, links, images and formulas."""

    url: str
    title: str
    screenshot: Path
    links: list[str]
    missing_images: list[str]
    math: dict
    watch: Watch

    def problems(self, expect_math: bool) -> list[str]:
        """Everything a reader would see as broken, one line each (empty: the page is fine)."""
        lines = [f"missing image (naturalWidth 0): {src}" for src in self.missing_images]
        lines += [f"console error: {text}" for text in self.watch.console_errors]
        lines += [f"uncaught error: {text}" for text in self.watch.page_errors]
        lines += [f"failed request: {text}" for text in self.watch.failed_requests]
        lines += [f"request to another site: {url}" for url in self.watch.external_requests]
        math = self.math
        if expect_math and not math["formulas"]:
            lines.append("no formula was typeset by MathJax")
        if math["rendered"] < math["formulas"]:
            lines.append(f"only {math['rendered']} of {math['formulas']} formulas rendered")
        lines += [f"math left as raw text: {text!r}" for text in math["raw"]]
        lines += [f"math error: {text!r}" for text in math["errors"]]
        return lines


def inspect_page(page, url: str, screenshot: Path, seen: Watch) -> PageReport:
    """Load ``url`` in ``page``, let images and math settle, screenshot it, and report.

    Args:
        page: a Playwright page set up with `watch` (``seen``).
        url: the page to load.
        screenshot: where to write a full-page PNG.
        seen: the page's `Watch`.

    Returns:
        The page's `PageReport` (call ``.problems()``).
    """
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    missing = page.evaluate(_IMAGES_SETTLED)
    if page.locator("span.math, div.math, script[src*='MathJax.js']").count():
        page.wait_for_function("() => window.MathJax && window.MathJax.Hub", timeout=30_000)
        page.evaluate(_MATHJAX_DONE)
    math = page.evaluate(_MATH_STATE)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    links = page.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)")
    return PageReport(page.url, page.title(), screenshot, links, missing, math, seen)


def broken_links(request, links: Iterable[str]) -> list[str]:
    """The internal links that do not resolve: a missing page, or a missing ``#anchor``.

    Args:
        request: a Playwright ``APIRequestContext`` (``context.request``).
        links: absolute URLs; links to other hosts are skipped (the site must not need them).

    Returns:
        One line per broken link.
    """
    pages: dict[str, str | None] = {}
    broken = []
    for link in sorted(set(links)):
        if not _is_local(link) or urlsplit(link).scheme not in ("http", "https"):
            continue
        target, anchor = urldefrag(link)
        if target not in pages:
            response = request.get(target)
            text = (
                response.text()
                if response.ok and "html" in response.headers.get("content-type", "")
                else ""
            )
            pages[target] = text if response.ok else None
        body = pages[target]
        if body is None:
            broken.append(f"{link}: page not found")
        elif anchor and body and not _has_anchor(body, anchor):
            broken.append(f"{link}: no element with id {anchor!r}")
    return broken


def _has_anchor(body: str, anchor: str) -> bool:
    for name in {anchor, html.escape(anchor, quote=True)}:
        if re.search(rf"""\b(?:id|name)=["']{re.escape(name)}["']""", body):
            return True
    return False


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on a free localhost port.

    Args:
        folder: the site's root.

    Yields:
        The base URL, ``http://127.0.0.1:PORT/``.
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
