"""Neural style transfer helpers for the workbook (notebooks 06-09).

Public names and their math are fixed in the course's CONVENTIONS.md:

* costs (`nst_utils.costs`): `compute_content_cost`, `gram_matrix`, `compute_layer_style_cost`,
  `compute_style_cost`, `total_cost`, `total_variation_cost`;
* the backbone (`nst_utils.backbone`): `load_backbone`, `feature_extractor`;
* the optimisation (`nst_utils.stylize`): `stylize`, `reconstruct`, `FrameRecorder`;
* image files (`nst_utils.images`): `load_float_image`, `resize_image`, `save_image`, `to_uint8`;
* credits and figures (`nst_utils.media`): `credits`, `show_images`;
* what units respond to (notebook 06; import from the submodules, they load scikit-image):
  `nst_utils.layers.receptive_field` (`receptive_field`, `layer_specs`),
  `nst_utils.layers.top_patches` (`channel_maxima`, `top_patches`, `select_units`),
  `nst_utils.layers.probe_images`, `nst_utils.layers.plots`.

Command line: ``python -m nst_utils stylize CONTENT STYLE -o OUT.png``.

Importing the package is cheap: TensorFlow loads when a name that needs it is first used
(PEP 562 module ``__getattr__``), as in `fr_utils`.
"""

import importlib

# Public name -> the module that defines it (loaded on first use).
_EXPORTS = {
    "BACKBONES": "nst_utils.backbone",
    "Backbone": "nst_utils.backbone",
    "feature_extractor": "nst_utils.backbone",
    "load_backbone": "nst_utils.backbone",
    "compute_content_cost": "nst_utils.costs",
    "compute_layer_style_cost": "nst_utils.costs",
    "compute_style_cost": "nst_utils.costs",
    "gram_matrix": "nst_utils.costs",
    "total_cost": "nst_utils.costs",
    "total_variation_cost": "nst_utils.costs",
    "unroll": "nst_utils.costs",
    "MIN_SIDE": "nst_utils.images",
    "load_float_image": "nst_utils.images",
    "resize_image": "nst_utils.images",
    "save_image": "nst_utils.images",
    "to_uint8": "nst_utils.images",
    "show_images": "nst_utils.media",
    "DEFAULT_CONTENT_LAYER": "nst_utils.stylize",
    "DEFAULT_STYLE_LAYERS": "nst_utils.stylize",
    "OPTIMIZERS": "nst_utils.stylize",
    "FrameRecorder": "nst_utils.stylize",
    "StepInfo": "nst_utils.stylize",
    "reconstruct": "nst_utils.stylize",
    "stylize": "nst_utils.stylize",
    "CREDITS": "workbook.credits",
    "SHARE_ALIKE": "workbook.credits",
    "credits": "workbook.credits",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nst_utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
