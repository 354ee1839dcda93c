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
"""

from nst_utils.backbone import BACKBONES, Backbone, feature_extractor, load_backbone
from nst_utils.costs import (
    compute_content_cost,
    compute_layer_style_cost,
    compute_style_cost,
    gram_matrix,
    total_cost,
    total_variation_cost,
    unroll,
)
from nst_utils.images import MIN_SIDE, load_float_image, resize_image, save_image, to_uint8
from nst_utils.media import CREDITS, SHARE_ALIKE, credits, show_images
from nst_utils.stylize import (
    DEFAULT_CONTENT_LAYER,
    DEFAULT_STYLE_LAYERS,
    OPTIMIZERS,
    FrameRecorder,
    StepInfo,
    get_backbone,
    reconstruct,
    stylize,
)

__all__ = [
    "CREDITS",
    "SHARE_ALIKE",
    "credits",
    "show_images",
    "BACKBONES",
    "DEFAULT_CONTENT_LAYER",
    "DEFAULT_STYLE_LAYERS",
    "OPTIMIZERS",
    "Backbone",
    "FrameRecorder",
    "MIN_SIDE",
    "StepInfo",
    "compute_content_cost",
    "compute_layer_style_cost",
    "compute_style_cost",
    "feature_extractor",
    "get_backbone",
    "gram_matrix",
    "load_backbone",
    "load_float_image",
    "reconstruct",
    "resize_image",
    "save_image",
    "stylize",
    "to_uint8",
    "total_cost",
    "total_variation_cost",
    "unroll",
]
__version__ = "0.1.0"
