"""Neural style transfer helpers for the workbook (notebooks 06-09).

Public names and their math are fixed in the course's CONVENTIONS.md:

* costs (`nst_utils.costs`): `compute_content_cost`, `gram_matrix`, `compute_layer_style_cost`,
  `compute_style_cost`, `total_cost`, `total_variation_cost`;
* the backbone (`nst_utils.backbone`): `load_backbone`, `feature_extractor`;
* the optimisation (`nst_utils.stylize`): `stylize`, `reconstruct`, `FrameRecorder`;
* fast arbitrary style transfer (`nst_utils.fast`, Magenta's networks rebuilt in
  `nst_utils.models.magenta`): `fast_stylize`, `style_vector`, `blend_styles`;
* image files (`nst_utils.images`): `load_image`, `resize_image`, `save_image`, `to_uint8`;
* credits and figures (`nst_utils.media`): `credits`, `show_images`;
* what units respond to (notebook 06; import from the submodules, they load scikit-image):
  `nst_utils.receptive_field` (`receptive_field`, `layer_specs`), `nst_utils.top_patches`
  (`channel_maxima`, `top_patches`, `select_units`), `nst_utils.probe_images`,
  `nst_utils.layer_plots`.

Command line: ``python -m nst_utils stylize CONTENT STYLE -o OUT.png [--fast [--strength S]]``.
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
from nst_utils.fast import blend_styles, fast_stylize, style_vector
from nst_utils.images import MIN_SIDE, load_image, resize_image, save_image, to_uint8
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
    "blend_styles",
    "fast_stylize",
    "feature_extractor",
    "get_backbone",
    "gram_matrix",
    "load_backbone",
    "load_image",
    "reconstruct",
    "resize_image",
    "save_image",
    "style_vector",
    "stylize",
    "to_uint8",
    "total_cost",
    "total_variation_cost",
    "unroll",
]
__version__ = "0.1.0"
