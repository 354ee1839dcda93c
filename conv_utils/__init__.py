"""1D and 3D convolutions on real signals and volumes (notebook 10).

* `conv_utils.shapes`: output shapes (``n_out = floor((n + 2p - f) / s) + 1``) and parameter counts.
* `conv_utils.numpy_conv`: NumPy reference forward passes `conv1d` and `conv3d` (Keras layouts).
* `conv_utils.ecg`: MIT-BIH ECG records, heartbeat segmentation and a split by time.
* `conv_utils.shape_volumes`: a synthetic dataset of noisy 3D shapes in random poses.
* `conv_utils.video`: a clip as a (time, y, x) volume, and 3D kernels that see motion.
* `conv_utils.models`: the small 1D and 3D CNNs of the notebook, and their receptive field.
* `conv_utils.plots`: the notebook's figures (one colour convention for all of them).
* `conv_utils.checks`: the checks behind the notebook's graded cells.

Shape rules are fixed in the course's CONVENTIONS.md.
"""

from conv_utils.numpy_conv import conv1d, conv3d, conv_nd, same_padding
from conv_utils.shapes import conv_output_length, conv_output_shape, conv_param_count

__all__ = [
    "conv1d",
    "conv3d",
    "conv_nd",
    "conv_output_length",
    "conv_output_shape",
    "conv_param_count",
    "same_padding",
]
__version__ = "0.1.0"
