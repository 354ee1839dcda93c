"""JupyterLab in a real browser: run a notebook, use its widget panel, see the answer change.

A JupyterLab server starts headless on a free localhost port with a token (as ``make lab``
does, with this checkout first on the kernels' ``PYTHONPATH``), on a temporary folder that
holds a copy of the notebook, so autosave never touches ``notebooks/``. Headless Chromium
opens the notebook, runs all cells from the Run menu, waits for the kernel, then moves a
control of the notebook's panel as a student would and checks that the panel's answer
changes. Screenshots before and after go to ``build/screenshots/lab_*.png``.

A new panel is one more `Panel` in `PANELS`: the notebook, the text of the cell that shows
the panel, smaller parameters for a faster run, and a function that uses the panel, written
with the helpers below (`drag_slider_to_start`, `press_button`, `wait_for_new_image`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pages import watch

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser

#: Whole notebooks run here: minutes on a loaded 2-core machine.
RUN_TIMEOUT_S = 900
START_TIMEOUT_S = 180


@dataclass(frozen=True)
class Panel:
    """A notebook's interactive panel and how to try it.

    Attributes:
        notebook: the notebook's stem, in ``notebooks/``.
        marker: text that only the code cell displaying the panel contains.
        parameters: values that replace the notebook's parameters for a quicker run.
        exercise: ``exercise(page, cell, shots)`` uses the panel in ``cell`` (a Playwright
            locator of the panel's cell), asserts that its answer changed, and saves
            screenshots through ``shots(name)`` (a path).
    """

    notebook: str
    marker: str
    exercise: Callable
    parameters: dict = field(default_factory=dict)


def exercise_door(page, cell, shots) -> None:
    """Notebook 05's door: drag the threshold to its minimum; the door must close."""
    report = cell.locator(".widget-html pre")
    report.wait_for(timeout=60_000)
    before = report.inner_text()
    cell.screenshot(path=str(shots("before")))
    assert "door OPENS for Barack Obama" in before, before
    drag_slider_to_start(page, cell.locator(".widget-slider").first)
    # The report follows the drag step by step, and the door may already close at a value
    # the handle passes on its way: wait for the report of the slider's final value.
    wait_for_text(
        report, lambda text: re.search(r"threshold 0\.20*\)", text) and "door stays closed" in text
    )
    cell.screenshot(path=str(shots("after")))
    readout = cell.locator(".widget-readout").first.inner_text()
    assert readout.strip() == "0.20", readout


def exercise_fast_panel(page, cell, shots) -> None:
    """Notebook 09's panel: it shows a picture at once; strength to 0 repaints it."""
    first = wait_for_new_image(cell)
    cell.screenshot(path=str(shots("before")))
    drag_slider_to_start(page, cell.locator(".widget-slider").first)  # strength: 0
    readout = cell.locator(".widget-readout").first.inner_text()
    assert float(readout) == 0.0, readout
    second = wait_for_new_image(cell, previous=first)
    cell.screenshot(path=str(shots("after")))
    assert second != first


PANELS = [
    Panel(
        notebook="05_face_recognition_system",
        marker="door_panel(",
        exercise=exercise_door,
        # the LFW experiment at a tenth of its size; the door itself is unchanged
        parameters={
            "n_people": 20,
            "n_strangers": 10,
            "gallery_sizes": [1, 2, 5, 10],
            "n_trials": 200,
        },
    ),
    Panel(
        notebook="09_art_generation",
        marker="fast_panel(photos",
        exercise=exercise_fast_panel,
        # tiny images and budgets everywhere; the panel itself is the same
        parameters={
            "IMAGE_SIZE": 64,
            "CPU_SECONDS": 0.3,
            "LOOP_STEPS": 3,
            "STEPS": 3,
            "NOISE_SCHEDULE": [(48, 5), (64, 5)],
            "SCHEDULE": [(48, 2), (64, 2)],
        },
    ),
]


def drag_slider_to_start(page, slider) -> None:
    """Drag an ipywidgets slider's handle with the mouse to the left end of its track."""
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle").bounding_box()
    track = slider.locator(".noUi-base, .noUi-target").first.bounding_box()
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + handle["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] - 20, y, steps=12)
    page.mouse.up()


def press_button(cell, text: str) -> None:
    """Click the panel's button labelled ``text``."""
    button = cell.locator("button.widget-button", has_text=text).first
    button.scroll_into_view_if_needed()
    button.click()


def wait_until(read: Callable[[], object], accept: Callable[[object], object], timeout_s: int):
    """Call ``read`` every half second until ``accept`` takes its value; return that value.

    ``read`` queries the page afresh each time (a locator, not an element handle): a widget
    that re-renders replaces its elements, so a handle taken once would keep a stale state.

    Raises:
        TimeoutError: ``accept`` refused every value for ``timeout_s``; the last one is
            its argument.
    """
    deadline = time.time() + timeout_s
    value = read()
    while not accept(value):
        if time.time() > deadline:
            raise TimeoutError(value)
        time.sleep(0.5)
        value = read()
    return value


def wait_for_text(locator, accept: Callable[[str], object], timeout_s: int = 60) -> str:
    """Wait until the text of ``locator`` satisfies ``accept``; return that text.

    Raises:
        AssertionError: the text did not satisfy ``accept`` within ``timeout_s`` (it is shown).
    """
    try:
        return wait_until(locator.inner_text, accept, timeout_s)
    except TimeoutError as late:
        raise AssertionError(f"after {timeout_s} s the panel still shows:\n{late}") from None


def wait_for_new_image(cell, previous: str | None = None, timeout_s: int = 300) -> str:
    """Wait until the panel's output widget shows an image other than ``previous``.

    Args:
        cell: the panel's output area (a Playwright locator).
        previous: the ``src`` of the image the panel showed before (None: none yet).
        timeout_s: how long the computation may take (a loaded 2-core CI machine).

    Returns:
        The new image's ``src`` (a ``data:`` URL of the figure).
    """
    images = cell.locator(".widget-output img")

    def newest() -> str | None:
        return images.last.get_attribute("src") if images.count() else None

    try:
        return wait_until(newest, lambda source: source and source != previous, timeout_s)
    except TimeoutError:
        raise AssertionError(f"the panel showed no new image within {timeout_s} s") from None


def with_parameters(nb: dict, parameters: dict) -> dict:
    """A notebook with its outputs cleared and ``parameters`` set after its parameters cell.

    Args:
        nb: a notebook dict with one cell tagged ``parameters``.
        parameters: names and values (written with their ``repr``).

    Returns:
        ``nb``, changed in place.
    """
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if parameters and len(tagged) != 1:
        raise ValueError("the notebook needs exactly one cell tagged 'parameters'")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    if parameters:
        lines = "".join(f"\n{name} = {value!r}" for name, value in parameters.items())
        tagged[0]["source"] = "".join(tagged[0]["source"]) + "\n# smaller, for the test" + lines
    return nb


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(folder: Path) -> Path:
    """JupyterLab user settings: every cell in the page (no virtual scrolling), no news."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A headless JupyterLab server on a temporary folder: ``(base_url, token, folder)``."""
    base = tmp_path_factory.mktemp("lab")
    root, token, port = base / "notebooks", secrets.token_hex(16), _free_port()
    root.mkdir()
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    env |= {
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        "--ServerApp.allow_root=True",  # CI runs as root
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={_lab_settings(base / 'settings')}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = (base / "jupyterlab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(url, token, server, base / "jupyterlab.log")
        yield url, token, root
    finally:
        _stop(url, token, server)
        log.close()


def _wait_for_server(url: str, token: str, server, log: Path) -> None:
    deadline = time.time() + START_TIMEOUT_S
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited ({server.returncode}):\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError(
        f"JupyterLab did not answer in {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}"
    )


def _stop(url: str, token: str, server) -> None:
    """Shut the server down (and its kernels) politely, then firmly."""
    try:
        request = urllib.request.Request(f"{url}/api/shutdown?token={token}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


#: The notebook panel's progress: code cells run, errors, kernel status.
_PROGRESS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets.filter((cell) => cell.model.type === "code");
  const errors = [];
  for (const cell of cells) {
    for (let i = 0; i < cell.model.outputs.length; i++) {
      const output = cell.model.outputs.get(i).toJSON();
      if (output.output_type === "error") errors.push(output.ename + ": " + output.evalue);
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {done: cells.filter((cell) => cell.model.executionCount !== null).length,
          total: cells.length, errors: errors, status: kernel ? kernel.status : "none"};
}"""

#: The notebook ``path`` is the current tab and its kernel is idle. Checking the path matters:
#: JupyterLab restores a workspace's open tabs, so an earlier notebook's idle kernel must not
#: count as this one's (CI ran 05's cells again while waiting for 09's).
_KERNEL_IDLE = """(path) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const session = panel && panel.sessionContext && panel.sessionContext.session;
  return Boolean(panel && panel.context && panel.context.path === path
    && session && session.kernel && session.kernel.status === "idle");
}"""

#: Whether the setup cell (the first code cell) opens with its code collapsed.
_SETUP_HIDDEN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const setup = panel.content.widgets.find((c) => c.model.type === "code");
  return {hidden: setup.inputHidden,
          placeholder: Boolean(setup.node.querySelector(".jp-InputPlaceholder"))};
}"""

#: Mark the panel's cell (the code cell whose source contains the marker) for a locator.
_MARK_CELL = """(marker) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.widgets.find((c) => c.model.type === "code"
    && c.model.sharedModel.getSource().includes(marker));
  if (!cell) return false;
  cell.node.setAttribute("data-test-panel", "yes");
  return true;
}"""


def _run_all_cells(page, shots) -> dict:
    """Run all cells from the Run menu; wait until every code cell ran or one failed."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.screenshot(path=str(shots("run_menu")))
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
    deadline, progress = time.time() + RUN_TIMEOUT_S, {}
    while time.time() < deadline:
        progress = page.evaluate(_PROGRESS)
        if progress["errors"] or (
            progress["done"] == progress["total"] and progress["status"] == "idle"
        ):
            break
        page.wait_for_timeout(2000)
    else:
        page.screenshot(path=str(shots("timeout")))
        pytest.fail(f"the notebook did not finish in {RUN_TIMEOUT_S} s: {progress}")
    return progress


@pytest.mark.parametrize("panel", PANELS, ids=[p.notebook[:2] for p in PANELS])
def test_panel_answers_in_jupyterlab(lab, browser, screenshots, panel):
    url, token, root = lab
    nb = json.loads((ROOT / "notebooks" / f"{panel.notebook}.ipynb").read_text())
    (root / f"{panel.notebook}.ipynb").write_text(json.dumps(with_parameters(nb, panel.parameters)))

    def shots(name: str) -> Path:
        return screenshots / f"lab_{panel.notebook[:2]}_{name}.png"

    page = browser.new_page()
    seen = watch(page)  # also blocks any request off this machine
    start = time.time()
    try:
        # a workspace of its own, reset: no tab of an earlier test is restored beside it
        workspace = f"{url}/lab/workspaces/panel-{panel.notebook[:2]}"
        page.goto(f"{workspace}/tree/{panel.notebook}.ipynb?reset&token={token}")
        page.wait_for_function(
            _KERNEL_IDLE,
            arg=f"{panel.notebook}.ipynb",
            timeout=START_TIMEOUT_S * 1000,
            polling=1000,
        )
        page.screenshot(path=str(shots("opened")))
        setup = page.evaluate(_SETUP_HIDDEN)
        assert setup == {"hidden": True, "placeholder": True}, f"setup cell shown: {setup}"
        progress = _run_all_cells(page, shots)
        ran = time.time() - start
        page.screenshot(path=str(shots("notebook")))
        assert not progress["errors"], f"cells failed in JupyterLab: {progress['errors']}"
        assert page.evaluate(_MARK_CELL, panel.marker), f"no cell contains {panel.marker!r}"
        cell = page.locator('[data-test-panel="yes"] .jp-OutputArea-output')
        cell.first.scroll_into_view_if_needed()
        panel.exercise(page, cell.first, shots)
        print(f"{panel.notebook}: all {progress['total']} code cells ran in {ran:.0f} s")
    finally:
        page.close()
        _end_sessions(url, token)
    assert not seen.page_errors, seen.page_errors


def _end_sessions(url: str, token: str) -> None:
    """End every kernel session of the server, so the next notebook has the machine to itself."""
    with urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(
            f"{url}/api/sessions/{session['id']}?token={token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=30).close()
