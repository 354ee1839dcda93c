"""Neural style transfer, and what the units of a ConvNet respond to (notebooks 06-09).

Public names and their math are fixed in the course's CONVENTIONS.md. What lives where:

* the library: `nst_utils.costs` (content, Gram, style, total and variation costs),
  `nst_utils.backbone` (load_backbone, feature_extractor), `nst_utils.gatys` (stylize,
  reconstruct: optimising the pixels, Gatys et al.), `nst_utils.fast` (fast_stylize,
  style_vector, blend_styles: one forward pass of Magenta's networks, Ghiasi et al.),
  `nst_utils.images` (float pixels, resizing, PNG with parameters), `nst_utils.media`
  (show_images, show_frames, save_gif), `nst_utils.cli`
  (``python -m nst_utils stylize CONTENT STYLE -o OUT.png [--fast [--strength S]]``);
* `nst_utils.models`: the pretrained networks and readers of their files;
* `nst_utils.layers`: notebook 06's lesson (receptive fields, ImageNet photos, top patches
  and their cache, WordNet coherence, mosaics);
* `nst_utils.checks`: the exercise checks, one module per notebook (``nb06`` ... ``nb09``).

Credits for every displayed image come from `workbook.credits` (re-exported as `credits`).
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
    "pick_frames": "nst_utils.media",
    "save_gif": "nst_utils.media",
    "show_frames": "nst_utils.media",
    "show_images": "nst_utils.media",
    "DEFAULT_CONTENT_LAYER": "nst_utils.gatys",
    "DEFAULT_STYLE_LAYERS": "nst_utils.gatys",
    "OPTIMIZERS": "nst_utils.gatys",
    "FrameRecorder": "nst_utils.gatys",
    "StepInfo": "nst_utils.gatys",
    "count_flops": "nst_utils.gatys",
    "reconstruct": "nst_utils.gatys",
    "stylize": "nst_utils.gatys",
    "blend_styles": "nst_utils.fast",
    "fast_stylize": "nst_utils.fast",
    "style_vector": "nst_utils.fast",
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
