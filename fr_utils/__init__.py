"""Face verification and recognition helpers for the workbook (notebooks 01-05).

Public names and their math are fixed in the course's CONVENTIONS.md.
"""

from fr_utils.losses import triplet_loss

__all__ = ["triplet_loss"]
__version__ = "0.1.0"
