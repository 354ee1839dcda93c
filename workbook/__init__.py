"""Shared plumbing of the workbook, used by `fr_utils`, `nst_utils`, `conv_utils` and the tools.

* finding files: `workbook.resources` (data_path, weights_path, cache_dir, sealed caches),
  `workbook.download` (the one download path), `workbook.atomic` (the one atomic write, and
  the lock around a load-modify-save);
* command lines: `workbook.cli` (exit codes and one-line errors, shared by every CLI);
* reading and crediting images: `workbook.images` (the one image reader),
  `workbook.credits` (the credit line of every image a notebook shows);
* notebooks: `workbook.setup` (the first cell of every notebook; on Colab, the data),
  `workbook.nbval_policy` (the pytest plugin that compares re-executed outputs);
* grading: `workbook.checking` (CheckFailed and the helpers every ``checks`` module uses);
* tooling: `workbook.fetch_data` and `workbook.wfdb` (``make data``).

The teaching code lives in `fr_utils` (faces), `nst_utils` (style transfer) and `conv_utils`
(1D/3D convolutions); this package only finds, reads and writes files and prepares notebooks.
"""

from workbook.checking import CheckFailed
from workbook.resources import (
    DataNotFoundError,
    WeightsUnavailableError,
    data_path,
    weights_path,
)
from workbook.setup import setup_notebook

__all__ = [
    "CheckFailed",
    "DataNotFoundError",
    "WeightsUnavailableError",
    "data_path",
    "setup_notebook",
    "weights_path",
]
__version__ = "0.1.0"
