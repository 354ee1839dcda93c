"""Neural style transfer helpers for the workbook (notebooks 06-09).

Public names and their math are fixed in the course's CONVENTIONS.md.
"""

from nst_utils.backbone import BACKBONES, Backbone, feature_extractor, load_backbone

__all__ = ["BACKBONES", "Backbone", "feature_extractor", "load_backbone"]
__version__ = "0.1.0"
