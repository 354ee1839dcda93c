"""Shared fixtures: a loopback HTTP server and an "online" environment for the download tests;
`dlib` for the parity tests against dlib's own code.

Nothing in the tests reaches the internet: downloads are served by a threaded HTTP server on
127.0.0.1 from a temporary folder. Two kinds of path misbehave on purpose:

* ``/cut/<rel>`` announces the full length of ``<rel>``, sends half of it and hangs up
  (a connection lost mid-download);
* ``/slow/<rel>`` waits two seconds before answering (a server that does not respond).
"""

from __future__ import annotations

import http.server
import os
import threading
import time
import urllib.parse
from functools import partial
from pathlib import Path

import pytest


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        if self.path.startswith("/slow/"):
            time.sleep(2.0)
            self.path = self.path[len("/slow") :]
        if self.path.startswith("/cut/"):
            rel = urllib.parse.unquote(self.path[len("/cut/") :])
            data = (Path(self.directory) / rel).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        try:
            super().do_GET()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path):
    """Serve ``tmp_path / "site"`` on an ephemeral port; yields (base_url, site_dir, requests)."""
    site = tmp_path / "site"
    site.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=site))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", site, requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def online(monkeypatch):
    """Pretend to be an online user's machine (the test suite itself runs with CI set)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("WORKBOOK_OFFLINE", raising=False)


# The longest test files first (make test runs with --no-loadscope-reorder, so xdist hands out
# files in this order). The end-to-end grading runs on its own after nbval (Makefile).
FIRST = ("test_grading_e2e.py", "test_grading_sandbox.py")


def pytest_collection_modifyitems(config, items):
    """Put `FIRST` ahead of the other test files, keeping every file's own order."""
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))


@pytest.fixture(scope="session")
def dlib():
    """dlib's Python module (the dlib-bin wheel), the reference of the parity tests.

    The `test` extra installs it, so under CI a missing dlib is an error, never a skip; on a
    machine without it the parity tests are skipped with the reason.
    """
    if os.environ.get("CI"):
        import dlib  # noqa: PLC0415

        return dlib
    return pytest.importorskip("dlib", reason="needs the dlib-bin wheel (test extra)")
