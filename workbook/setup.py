"""What the first code cell of every notebook does.

On a local machine `setup_notebook` only quiets TensorFlow's start-up logs, seeds every random
generator and sets the figure defaults, so that two runs print the same numbers.

On Google Colab (detected by its ``COLAB_RELEASE_TAG`` environment variable) the workbook is
not installed when a notebook opens. The setup cell, which ``tools/notebooks.py`` writes into
every notebook, installs it first with pip from the repository named in ``pyproject.toml``
(``[tool.workbook] repository``; the cell carries the URL, the installed package never needs
it). `setup_notebook` then does the rest: `prepare_colab` downloads the course data once per
Colab machine into `COLAB_DATA` and points ``WORKBOOK_DATA`` at it, so `workbook.data_path`
finds it. TensorFlow finds Colab's GPU by itself; we let it allocate memory as needed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["COLAB_DATA", "FIGURE_DEFAULTS", "in_colab", "prepare_colab", "setup_notebook"]

#: Figure defaults of every notebook: 110 dpi (readable on a laptop screen and in the course
#: website), a moderate size, and fonts that stay legible at that size.
FIGURE_DEFAULTS = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
}
#: Where `prepare_colab` puts the course data on Colab (unless ``WORKBOOK_DATA`` names a folder,
#: e.g. one on a mounted Google Drive, which then keeps the data between sessions).
COLAB_DATA = "/content/workbook-data"
#: Written into the data folder once every file of the data manifest is there and verified.
_COMPLETE = Path(".downloads") / "complete.sha256"


def in_colab(environ: Mapping[str, str] | None = None) -> bool:
    """Return True when running inside Google Colab (which sets ``COLAB_RELEASE_TAG``)."""
    environ = os.environ if environ is None else environ
    return "COLAB_RELEASE_TAG" in environ


def prepare_colab() -> Path:
    """Make the course data available on Colab: download it once, point WORKBOOK_DATA at it.

    The data goes to the folder ``WORKBOOK_DATA`` names, else to `COLAB_DATA`; every file is
    fetched and checked by `workbook.fetch_data.fetch` (what ``make data`` runs). A stamp with
    the SHA-256 of the data manifest then records that the folder is complete, so the next
    notebook on the same machine starts at once.

    Returns:
        The data folder (absolute), also in ``os.environ["WORKBOOK_DATA"]``.
    """
    from workbook.atomic import atomic_open
    from workbook.download import file_digest
    from workbook.fetch_data import fetch, load_manifest
    from workbook.resources import manifest_path

    folder = Path(os.environ.get("WORKBOOK_DATA") or COLAB_DATA).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["WORKBOOK_DATA"] = str(folder)
    manifest = manifest_path("data")
    digest = file_digest(manifest)
    stamp = folder / _COMPLETE
    if stamp.is_file() and stamp.read_text(encoding="ascii").strip() == digest:
        return folder
    print(f"Downloading the course data into {folder} (once per Colab machine) ...", flush=True)
    for line in fetch(folder, load_manifest(manifest)):
        print(f"warning: {line}")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(stamp, "w", encoding="ascii") as out:
        out.write(digest + "\n")
    return folder


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with file descriptor 2 sent to /dev/null.

    TensorFlow's C++ libraries print start-up lines (CUDA stubs, CPU features) straight
    to the process's stderr while they load, before ``TF_CPP_MIN_LOG_LEVEL`` is read;
    Jupyter kernels capture them into the cell's output, where they differ per machine.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def setup_notebook(seed: int = 0) -> None:
    """Make a notebook reproducible and quiet: call it once, before any model is built.

    * sets ``TF_CPP_MIN_LOG_LEVEL`` so TensorFlow's C++ start-up messages do not
      end up in the notebook's outputs (they vary between machines),
    * seeds Python, NumPy and TensorFlow through `keras.utils.set_random_seed`,
    * sets the figure defaults (`FIGURE_DEFAULTS`: 110 dpi, legible fonts),
    * on Google Colab only, first makes the course data available (`prepare_colab`).
    """
    if in_colab():
        prepare_colab()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    _import_tensorflow_quietly()
    import keras
    import matplotlib
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    matplotlib.rcParams.update(FIGURE_DEFAULTS)
