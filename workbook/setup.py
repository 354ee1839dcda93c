"""What the first code cell of every notebook does.

On a local machine `setup_notebook` only quiets TensorFlow's start-up logs,
seeds every random generator and sets small figure defaults, so that two runs
print the same numbers. On Google Colab (detected by its ``COLAB_RELEASE_TAG``
environment variable) the setup cell that `tools/notebooks.py` writes into every
notebook has already cloned and installed the project and fetched the data; here
TensorFlow then finds Colab's GPU by itself, and we let it allocate memory as needed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["COLAB_CHECKOUT", "FIGURE_DEFAULTS", "REPO_URL", "in_colab", "setup_notebook"]

#: Where the workbook is published; the Colab badges and the Colab setup cell use it.
REPO_URL = "https://github.com/cnn-workbook/special-applications"
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
#: Where the Colab setup cell clones the repository.
COLAB_CHECKOUT = "/content/special-applications"


def in_colab(environ: Mapping[str, str] | None = None) -> bool:
    """Return True when running inside Google Colab."""
    environ = os.environ if environ is None else environ
    return "COLAB_RELEASE_TAG" in environ or "COLAB_GPU" in environ


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
    * sets the figure defaults (`FIGURE_DEFAULTS`: 110 dpi, legible fonts).
    """
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
