"""Shared plumbing of the workbook: data/weights resolution, notebook setup and exercise checks.

The teaching code lives in `fr_utils` (faces), `nst_utils` (style transfer) and `conv_utils`
(1D/3D convolutions); this package only finds files and prepares notebooks.
"""

from workbook.checking import CheckFailed
from workbook.resources import (
    DataNotFoundError,
    WeightsUnavailableError,
    data_path,
    weights_path,
)
from workbook.setup import REPO_URL, setup_notebook

__all__ = [
    "REPO_URL",
    "CheckFailed",
    "DataNotFoundError",
    "WeightsUnavailableError",
    "data_path",
    "setup_notebook",
    "weights_path",
]
__version__ = "0.1.0"
