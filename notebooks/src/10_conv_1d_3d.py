# %% [markdown]
# # Convolutions in 1D and 3D: heartbeats and volumes
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/10_conv_1d_3d.ipynb)
#
# Everything the course did with 2D convolutions on images carries over to signals (one spatial
# axis) and volumes (three). In this notebook we
#
# 1. write the **shape rule** of a convolution once for 1D, 2D and 3D and reproduce the lecture's
#    numbers ($14 \times 1 \to 10 \times 16$, $14 \times 14 \times 14 \times 1 \to 10 \times 10 \times 10 \times 16$),
# 2. implement the **forward pass of `Conv1D` and `Conv3D` in NumPy** and match Keras to $10^{-5}$,
# 3. train a small **1D CNN on a real electrocardiogram** (MIT-BIH record 208) to tell normal,
#    premature ventricular and fusion heartbeats apart, look at what its first filters respond to,
#    and see what a 1D convolution offers next to the **recurrent networks** of the next course,
# 4. run **3D edge filters on a real MRI volume**, train a small **3D CNN** on noisy synthetic
#    spheres, cubes and tori in random poses, and treat a **video as a 3D volume** (time as the
#    third axis) in which a 3D kernel sees motion,
# 5. count parameters and see why 3D layers get expensive quickly.
#
# **Prerequisites:** 2D convolutions (padding, stride, filters spanning all channels), Keras
# `Sequential` models. **Run time:** a few minutes on a 2-core CPU, no GPU needed; the two
# training cells print how long they took on your machine.

# %% jupyter={"source_hidden": true} tags=["setup", "hide-input"]
# @title Setup (on Google Colab it installs the workbook first) { display-mode: "form" }
import importlib.util
import os
import subprocess
import sys

if "COLAB_RELEASE_TAG" in os.environ and importlib.util.find_spec("workbook") is None:
    url = "git+https://github.com/cnn-workbook/special-applications"
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", url])
    importlib.invalidate_caches()
import workbook

workbook.setup_notebook()  # seeds, quiet logs, figure defaults; on Colab also the course data

# %%
import math
import time

import keras
import matplotlib.pyplot as plt
import nibabel
import numpy as np
from sklearn.metrics import confusion_matrix, recall_score

import conv_utils
import conv_utils.checks
import conv_utils.ecg
import conv_utils.models
import conv_utils.plots
import conv_utils.shape_volumes
import conv_utils.video
import workbook
import workbook.prose

# %% tags=["parameters"]
ECG_RECORD = "208"  # MIT-BIH record with N, V and F beats ("100" is almost all normal)
BEAT_CLASSES = ("N", "V", "F")  # normal, premature ventricular, fusion
TRAIN_FRACTION = 0.7  # first 70% of the recording trains, the last 30% tests
ECG_EPOCHS = 15  # passes over the training beats (the training cell prints the time per epoch)
SHAPE_SIZE = 20  # voxels per side of the synthetic volumes (cost grows like SHAPE_SIZE**3)
SHAPES_PER_CLASS = 120  # training volumes per class (40 more per class are held out)
SHAPE_NOISE = 0.2  # standard deviation of the voxel noise (shapes are ~0.7-1.0 bright)
SHAPE_EPOCHS = 12  # the cost grows linearly; fewer epochs leave the spheres/cubes mixed up


# %% [markdown]
# ## Step 1: the shape of a convolution's output
#
# A filter of size $f$ slides along an axis of length $n$, padded with $p$ zeros on each side, in
# steps of $s$. It fits at positions $0, s, 2s, \dots$ as long as it does not run past the end, so
#
# $$n_\text{out} = \left\lfloor \frac{n + 2p - f}{s} \right\rfloor + 1 .$$
#
# The rule applies to **each spatial axis independently**; the filter always spans all $C$ input
# channels, and each of the $F$ filters produces one output channel. Keras' `padding="same"` picks
# the padding that gives $n_\text{out} = \lceil n / s \rceil$.
#
# Hand check with the lecture: a $14 \times 1$ signal and 16 filters of $5 \times 1$ give
# $(14 - 5)/1 + 1 = 10$ positions and 16 channels, $10 \times 16$. The next layer's filters must be
# $5 \times 16$ (they span the 16 channels), and 32 of them give $6 \times 32$. In 3D the same
# arithmetic on every axis gives $14^3 \times 1 \to 10^3 \times 16 \to 6^3 \times 32$.
#
# ## Exercise 1: conv_output_shape (2 points)
#
# Write `conv_output_shape(input_shape, filter_shape, n_filters, stride=1, padding="valid")` for
# inputs `(n, C)`, `(n_H, n_W, C)` or `(n_1, n_2, n_3, C)`. `filter_shape` lists the spatial sizes,
# optionally followed by the depth `C` (the lecture writes `5 x 5 x 5 x 1`). `padding` is `"valid"`,
# `"same"` or an int $p$. Raise `ValueError` when the filter fits nowhere ($n + 2p < f$).


# %% nbgrader={"grade": false, "grade_id": "ex_conv_output_shape", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_shape(input_shape, filter_shape, n_filters, stride=1, padding="valid"):
    """Return the output shape (spatial sizes..., n_filters) of a convolution layer.

    Args:
        input_shape: (n, C), (n_H, n_W, C) or (n_1, n_2, n_3, C).
        filter_shape: spatial filter sizes, optionally followed by the depth C.
        n_filters: number of filters (= output channels).
        stride: step s between filter positions (same on every axis).
        padding: "valid" (p = 0), "same" (n_out = ceil(n / s)) or an int p.

    Returns:
        A tuple of ints, e.g. (10, 16) for ((14, 1), (5, 1), 16).
    """
    ### BEGIN SOLUTION
    *spatial, channels = input_shape
    output = []
    for n, f in zip(spatial, filter_shape[: len(spatial)], strict=True):
        if padding == "same":
            output.append(math.ceil(n / stride))
            continue
        p = 0 if padding == "valid" else padding
        if n + 2 * p < f:
            raise ValueError(f"a filter of size {f} does not fit in {n} samples with padding {p}")
        output.append((n + 2 * p - f) // stride + 1)
    return (*output, n_filters)
    ### END SOLUTION


# %% [markdown]
# The lecture's four layers should give `(10, 16)`, `(6, 32)`, `(10, 10, 10, 16)` and `(6, 6, 6, 32)`:

# %%
[
    conv_output_shape((14, 1), (5, 1), 16),
    conv_output_shape((10, 16), (5, 16), 32),
    conv_output_shape((14, 14, 14, 1), (5, 5, 5, 1), 16),
    conv_output_shape((10, 10, 10, 16), (5, 5, 5, 16), 32),
]

# %% nbgrader={"grade": true, "grade_id": "check_conv_output_shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that conv_output_shape follows floor((n + 2p - f) / s) + 1 per axis, "same" padding and raises ValueError."""
conv_utils.checks.check_conv_output_shape(conv_output_shape)
### BEGIN HIDDEN TESTS
assert conv_output_shape((32, 32, 32, 3), (3, 3, 3), 10, stride=2, padding=1) == (16, 16, 16, 10)
assert conv_output_shape((100, 2), (7, 2), 4, stride=4) == (24, 4)
assert conv_output_shape((7, 7, 7, 1), (7, 7, 7, 1), 1) == (1, 1, 1, 1)
### END HIDDEN TESTS

# %% [markdown]
# Keras agrees on real tensors: we push a batch of zeros through `Conv1D` and `Conv3D` layers and
# read the shapes back (the leading `None`/batch axis aside).

# %%
signal_batch = np.zeros((1, 14, 1), dtype="float32")
volume_batch = np.zeros((1, 14, 14, 14, 1), dtype="float32")
hidden_1d = keras.layers.Conv1D(16, 5)(signal_batch)
hidden_3d = keras.layers.Conv3D(16, 5)(volume_batch)
{
    "Conv1D": (tuple(hidden_1d.shape[1:]), tuple(keras.layers.Conv1D(32, 5)(hidden_1d).shape[1:])),
    "Conv3D": (tuple(hidden_3d.shape[1:]), tuple(keras.layers.Conv3D(32, 5)(hidden_3d).shape[1:])),
    "Conv1D stride 3, same": tuple(
        keras.layers.Conv1D(4, 5, strides=3, padding="same")(signal_batch).shape[1:]
    ),
    "ours, stride 3, same": conv_output_shape((14, 1), (5,), 4, stride=3, padding="same"),
}


# %% [markdown]
# ## Step 2: the forward pass in NumPy
#
# A convolution layer in deep learning is a **cross-correlation**: the filter is not flipped. With
# input $x$ of shape $(n, C)$, kernel $W$ of shape $(f, C, F)$ (Keras' layout) and biases $b$,
#
# $$z_{i,k} = \sum_{t=0}^{f-1} \sum_{c=0}^{C-1} x^\text{pad}_{i s + t,\,c}\, W_{t,c,k} + b_k .$$
#
# In 3D the sum runs over three offsets $(t_1, t_2, t_3)$ and the kernel is $(f_1, f_2, f_3, C, F)$.
# For `"same"` padding Keras adds $\max((\lceil n/s \rceil - 1)s + f - n, 0)$ zeros in total, the
# odd one at the end; `conv_utils.same_padding(n, f, stride)` returns that `(before, after)` pair.
# Hand check: $x = [1,2,3,4,5]$ with the filter $[1, 0, -1]$ gives $x_i - x_{i+2} = [-2,-2,-2]$.
#
# ## Exercise 2: conv1d (2 points)
#
# Implement `conv1d(x, W, b, stride=1, padding="valid")` for one signal `x` of shape `(n, C)`.
# A loop over the output positions is fine; inside it, `np.tensordot(window, W, axes=2)`
# contracts a `(f, C)` window with the `(f, C, F)` kernel.


# %% nbgrader={"grade": false, "grade_id": "ex_conv1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv1d(x, W, b, stride=1, padding="valid"):
    """Forward pass of a Conv1D layer (no activation) on one signal.

    Args:
        x: (n, C) input signal.
        W: (f, C, F) kernel, Keras layout (not flipped).
        b: (F,) biases.
        stride: step between filter positions.
        padding: "valid", "same" or an int p (zeros on both ends).

    Returns:
        (n_out, F) array.
    """
    ### BEGIN SOLUTION
    f, C, F = W.shape
    if padding == "same":
        before, after = conv_utils.same_padding(len(x), f, stride)
    else:
        before = after = 0 if padding == "valid" else padding
    x = np.pad(x, [(before, after), (0, 0)])
    n_out = (len(x) - f) // stride + 1
    z = np.zeros((n_out, F))
    for i in range(n_out):
        window = x[i * stride : i * stride + f]  # (f, C)
        z[i] = np.tensordot(window, W, axes=2) + b  # sum over taps and channels
    return z
    ### END SOLUTION


# %% [markdown]
# The hand check: `[[-2.], [-2.], [-2.]]`, and with stride 2 and padding 1, `[[-2.], [-2.], [4.]]`.

# %%
x_hand = np.arange(1.0, 6.0)[:, None]
W_hand = np.array([1.0, 0.0, -1.0])[:, None, None]
conv1d(x_hand, W_hand, np.zeros(1)), conv1d(x_hand, W_hand, np.zeros(1), stride=2, padding=1)

# %% nbgrader={"grade": true, "grade_id": "check_conv1d", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that conv1d matches the reference for strides 1-3 and valid, same and explicit padding."""
conv_utils.checks.check_conv1d(conv1d)

# %% [markdown]
# Now against Keras: the lecture's $14 \times 1$ signal through a `Conv1D` of 16 filters of size 5, using
# the layer's own weights. The largest difference should be around $10^{-7}$ (float32 rounding).

# %%
rng = np.random.default_rng(0)
lecture_signal = rng.normal(size=(1, 14, 1)).astype("float32")
keras_conv1d = keras.layers.Conv1D(16, 5, strides=2, padding="same")
keras_out = keras_conv1d(lecture_signal).numpy()[0]
ours = conv1d(lecture_signal[0], *keras_conv1d.get_weights(), stride=2, padding="same")
error = np.abs(ours - keras_out).max()
print(f"shape {ours.shape}; ours equals Keras to within 1e-5: {error < 1e-5}")


# %% [markdown]
# ## Exercise 3: conv3d (2 points)
#
# Implement `conv3d(x, W, b, stride=1, padding="valid")` for one volume `x` of shape
# `(n_1, n_2, n_3, C)` and a kernel `(f_1, f_2, f_3, C, F)`. It is Exercise 2 with three spatial
# axes: pad all three, and loop over the output positions (`np.ndindex(*out_shape)` walks them all).


# %% nbgrader={"grade": false, "grade_id": "ex_conv3d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv3d(x, W, b, stride=1, padding="valid"):
    """Forward pass of a Conv3D layer (no activation) on one volume.

    Args:
        x: (n_1, n_2, n_3, C) input volume.
        W: (f_1, f_2, f_3, C, F) kernel, Keras layout (not flipped).
        b: (F,) biases.
        stride: step between filter positions, the same on all three axes.
        padding: "valid", "same" or an int p.

    Returns:
        (n_out_1, n_out_2, n_out_3, F) array.
    """
    ### BEGIN SOLUTION
    sizes = W.shape[:3]
    if padding == "same":
        pads = [
            conv_utils.same_padding(n, f, stride) for n, f in zip(x.shape[:3], sizes, strict=True)
        ]
    else:
        p = 0 if padding == "valid" else padding
        pads = [(p, p)] * 3
    x = np.pad(x, [*pads, (0, 0)])
    out_shape = [(n - f) // stride + 1 for n, f in zip(x.shape[:3], sizes, strict=True)]
    z = np.zeros((*out_shape, W.shape[-1]))
    for i, j, k in np.ndindex(*out_shape):
        window = x[
            i * stride : i * stride + sizes[0],
            j * stride : j * stride + sizes[1],
            k * stride : k * stride + sizes[2],
        ]
        z[i, j, k] = np.tensordot(window, W, axes=4) + b
    return z
    ### END SOLUTION


# %% [markdown]
# The lecture's volume: $14^3 \times 1$ with 16 filters of $5^3 \times 1$ should give `(10, 10, 10, 16)`.

# %%
lecture_volume = rng.normal(size=(14, 14, 14, 1))
conv3d(lecture_volume, rng.normal(size=(5, 5, 5, 1, 16)), np.zeros(16)).shape

# %% nbgrader={"grade": true, "grade_id": "check_conv3d", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that conv3d matches the reference on non-cubic volumes and filters, strides and paddings."""
conv_utils.checks.check_conv3d(conv3d)
### BEGIN HIDDEN TESTS
keras_layer = keras.layers.Conv3D(3, (2, 3, 2), strides=2, padding="same")
test_volume = np.random.default_rng(5).normal(size=(1, 7, 6, 5, 2)).astype("float32")
keras_volume_out = keras_layer(test_volume).numpy()[0]
np.testing.assert_allclose(
    conv3d(test_volume[0], *keras_layer.get_weights(), stride=2, padding="same"),
    keras_volume_out,
    atol=1e-5,
)
### END HIDDEN TESTS

# %% [markdown]
# Your loops and the vectorised `conv_utils.conv3d` (one `np.tensordot` over a strided view of all
# windows) both agree with Keras `Conv3D` (to float32 rounding, about $10^{-7}$):

# %%
keras_conv3d = keras.layers.Conv3D(16, 5, strides=2, padding="same")
keras_out = keras_conv3d(lecture_volume[None].astype("float32")).numpy()[0]
weights = keras_conv3d.get_weights()
outputs = {
    "yours": conv3d(lecture_volume, *weights, stride=2, padding="same"),
    "conv_utils.conv3d": conv_utils.conv3d(lecture_volume, *weights, 2, "same"),
}
{
    f"{name} equals Keras to within 1e-5": bool(np.abs(out - keras_out).max() < 1e-5)
    for name, out in outputs.items()
}

# %% [markdown]
# ## Step 3: a 1D CNN on a real electrocardiogram
#
# An ECG is a **sequence**: one voltage per time step. Sequences (signals, sound, text) are often
# handled by **recurrent networks** (RNNs, LSTMs), the topic of the next course: they read one
# step at a time and carry a state forward. A 1D convolution is the other option; we train one
# here and come back to what it offers after training.
#
# **Data.** MIT-BIH Arrhythmia Database record 208 (PhysioNet): half an hour of a two-lead ECG,
# in which cardiologists labelled every beat. We use lead MLII and three beat types:
# **N** normal, **V** premature ventricular contraction (a wide, bizarre QRS that starts in the
# ventricles), **F** fusion of a ventricular and a normal beat (a mix of the two shapes).

# %%
print(conv_utils.ecg.ATTRIBUTION)

# %%
record = conv_utils.ecg.load_ecg_record(ECG_RECORD)
print(
    f"record {record.name}: {record.duration / 60:.0f} min at {record.fs} Hz, leads {record.leads}"
)
labels, counts = np.unique(record.ann_symbol, return_counts=True)
dict(zip(labels.tolist(), counts.tolist(), strict=True))

# %% [markdown]
# Ten seconds of the signal with the cardiologists' labels above each R peak. Look for the V beats:
# they come early, their QRS is wide, and the wave after it swings far below the baseline.

# %%
conv_utils.plots.plot_ecg(record, start=60, seconds=10)

# %% [markdown]
# **Segmenting beats.** We cut a window from 0.25 s before to 0.45 s after every labelled R peak
# (P wave, QRS and T wave) and subtract each window's median to remove baseline drift.
# Thin lines are single beats, the thick line is the class mean.

# %%
beats = conv_utils.ecg.segment_beats(record, BEAT_CLASSES, before=0.25, after=0.45)
print(f"{len(beats)} beats of {beats.x.shape[1]} samples:", beats.counts())
conv_utils.plots.plot_beats(beats)

# %% [markdown]
# **Split by time.** Neighbouring beats of one patient are nearly identical, so a random split would
# test on near-copies of training beats. We train on the first 70% of the recording and test on the
# last 30%, dropping the beats whose window straddles the cut.

# %%
train_beats, test_beats = conv_utils.ecg.split_by_time(beats, TRAIN_FRACTION)
beat_weights = conv_utils.ecg.class_weights(train_beats.y, len(BEAT_CLASSES))
print("train:", train_beats.counts(), " test:", test_beats.counts())
{BEAT_CLASSES[k]: round(w, 3) for k, w in beat_weights.items()}

# %% tags=["remove-input"]
train_counts = train_beats.counts()
workbook.prose.show(
    f"**Class balance.** The training part holds {train_counts['N'] / train_counts['F']:.1f}"
    f" normal beats per fusion beat and {train_counts['N'] / train_counts['V']:.1f} per"
    " ventricular beat. With the class weights $w_k = m / (K m_k)$ printed above (a class with"
    " $m_k$ of the $m$ beats, $K$ classes) every class contributes equally to the loss, so the"
    " network cannot score well by ignoring fusion beats."
)

# %% [markdown]
# The network: three `Conv1D` + ReLU layers with max pooling, then global average pooling and a
# softmax.

# %%
beat_model = conv_utils.models.build_beat_classifier(beats.x.shape[1], len(BEAT_CLASSES))
beat_model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
beat_model.summary()

# %% tags=["remove-input"]
conv2 = beat_model.get_layer("conv2")
n_in, n_out, kernel_2 = conv2.input.shape[1], conv2.output.shape[1], conv2.kernel_size[0]
workbook.prose.show(
    f"The shapes in the summary follow Step 1: e.g. `conv2` turns ${n_in} \\times 8$ into"
    f" $({n_in} - {kernel_2}) + 1 = {n_out}$ positions of 16 channels."
)

# %%
# NBVAL_IGNORE_OUTPUT
start = time.perf_counter()
beat_history = beat_model.fit(
    train_beats.x,
    train_beats.y,
    epochs=ECG_EPOCHS,
    batch_size=64,
    class_weight=beat_weights,
    verbose=0,
)
seconds = time.perf_counter() - start
print(f"trained {ECG_EPOCHS} epochs in {seconds:.1f} s ({seconds / ECG_EPOCHS:.2f} s per epoch)")

# %% [markdown]
# On the held-out last 30% of the recording, the confusion matrix counts true classes (rows) against
# predictions (columns). Per-class recall is the fraction of each true class found; with unbalanced
# classes it says more than the overall accuracy. The colour of a cell is its share of the row (of
# its true class), so the diagonal reads as the recall of each class.

# %% tags=["nbval-approximate"]
beat_pred = beat_model.predict(test_beats.x, verbose=0).argmax(axis=1)
beat_recall = recall_score(test_beats.y, beat_pred, average=None)
print(f"test accuracy {np.mean(beat_pred == test_beats.y):.3f}")
print(
    "recall per class:",
    {c: round(float(r), 3) for c, r in zip(BEAT_CLASSES, beat_recall, strict=True)},
)
beat_labels = {"N": "N\nnormal", "V": "V\nventricular", "F": "F\nfusion"}
conv_utils.plots.plot_confusion(
    confusion_matrix(test_beats.y, beat_pred), [beat_labels[c] for c in BEAT_CLASSES], "test beats"
)

# %% [markdown]
# **What do the first-layer filters respond to?** The first layer uses `padding="same"`, so its
# feature maps line up sample by sample with the beat. Each row shows one filter's 15 taps (left)
# and its mean ReLU activation over the test beats of each class (right). Look for filters that fire
# on the steep edges of the narrow normal QRS, and others that respond to the wide, slow deflection
# of V beats or to the T wave.

# %%
first_layer = keras.Model(beat_model.inputs[0], beat_model.get_layer("conv1").output)
first_activations = first_layer(test_beats.x).numpy()
conv_utils.plots.plot_filter_responses(
    beat_model.get_layer("conv1").get_weights()[0], first_activations, test_beats
)

# %% [markdown]
# ### What a 1D convolution offers next to a recurrent network
#
# An RNN reads a beat one sample after the other, and its state can in principle carry
# information from any earlier sample. A stack of 1D convolutions makes three different choices:
#
# 1. **A fixed receptive field.** Each unit sees a window of known length, which grows layer by
#    layer (by $(f - 1)$ times the product of the earlier strides) and is fixed by the design;
#    global average pooling then pools the units over the whole beat.
# 2. **All positions at once.** There is no state to pass along, so every position (and every
#    beat of a batch) is computed in parallel, where an RNN needs one step per sample.
# 3. **Translation equivariance.** The same filter is applied at every position, so a beat that
#    arrives later gives feature maps that are shifted by the same amount: a filter that finds a
#    QRS finds it wherever it is.
#
# The receptive field of our network, and the cost of one pass:

# %% tags=["remove-input"]
field, jump = conv_utils.models.receptive_field(beat_model)
workbook.prose.show(
    f"One unit of `conv3` sees **{field} samples** ({field / record.fs * 1000:.0f} ms at"
    f" {record.fs} Hz), and neighbouring units start {jump} samples apart; the beat window is"
    f" {beats.x.shape[1]} samples long. The call `first_layer(test_beats.x)` above computed"
    f" {first_activations.shape[0]} beats $\\times$ {first_activations.shape[1]} positions"
    f" $\\times$ {first_activations.shape[2]} filters in one parallel pass."
)

# %% [markdown]
# Equivariance, checked on a test beat: delay it by `shift` samples and compare the first layer's
# feature maps, away from the ends (where the delayed beat wraps round and the zero padding sits).

# %%
shift = 25  # samples, about 70 ms
beat = test_beats.x[:1]
delayed = np.roll(beat, shift, axis=1)
maps, delayed_maps = first_layer(beat).numpy()[0], first_layer(delayed).numpy()[0]
half = beat_model.get_layer("conv1").kernel_size[0] // 2  # taps on each side of the centre
same = np.abs(delayed_maps[shift + half : -half] - maps[half : -half - shift]).max() < 1e-5
print(f"feature maps of the delayed beat = maps of the beat, delayed by {shift} samples: {same}")

# %% [markdown]
# ## Step 4: 3D convolutions on volumes
#
# ### A real MRI volume and 3D edge filters
#
# `volumes/anatomical.nii` is a small T1 brain MRI that ships with nibabel (MIT licence). Its
# header says how the voxel axes lie in the head (`nibabel.aff2axcodes`: the direction in which
# each index grows) and how large a voxel is.

# %%
mri_image = nibabel.load(workbook.data_path("volumes/anatomical.nii"))
mri_axes = nibabel.aff2axcodes(mri_image.affine)
mri = mri_image.get_fdata().astype("float32")
mri = (mri - mri.min()) / (mri.max() - mri.min())
voxel_mm = tuple(float(size) for size in mri_image.header.get_zooms())
print(f"{mri.shape} voxels of {voxel_mm} mm; the axes grow towards {mri_axes}")

# %% [markdown]
# A 3D Sobel filter differentiates along one axis ($[-1, 0, 1]$) and smooths along the other two
# ($[1, 2, 1] \otimes [1, 2, 1]$): a $3 \times 3 \times 3 \times 1$ kernel, three of them for the
# three axes. The scan is cut off at the volume's faces, where tissue still shows; zero padding
# would draw a fake edge there, so we repeat the outer voxels once (`np.pad(..., mode="edge")`)
# and run the filters with our `conv3d` and `padding="valid"`: the maps keep the volume's size.

# %%
derivative, smooth = np.array([-1.0, 0.0, 1.0]), np.array([1.0, 2.0, 1.0]) / 4
sobel = np.zeros((3, 3, 3, 1, 3), dtype="float32")
for axis in range(3):
    factors = [smooth, smooth, smooth]
    factors[axis] = derivative
    sobel[..., 0, axis] = np.einsum("i,j,k->ijk", *factors)
padded_mri = np.pad(mri, 1, mode="edge")[..., None]
edges = conv_utils.conv3d(padded_mri, sobel, padding="valid")
edges.shape

# %% [markdown]
# A Keras `Conv3D` layer with these fixed weights computes the same feature maps:

# %%
sobel_layer = keras.layers.Conv3D(3, 3, padding="valid", use_bias=False)
sobel_layer.build((None, *padded_mri.shape))
sobel_layer.set_weights([sobel])
print(
    "NumPy equals Keras to within 1e-5:",
    np.abs(sobel_layer(padded_mri[None]).numpy()[0] - edges).max() < 1e-5,
)

# %% [markdown]
# Central slices of the volume (rows: the sagittal, coronal and axial planes, each with the
# direction its image axes point to, as the header gives them), of the three derivative feature
# maps (red where the intensity grows along the filter's axis, blue where it falls, one colour
# scale for all three) and of the gradient magnitude: each filter lights up the tissue boundaries
# facing its axis.

# %%
magnitude = np.linalg.norm(edges, axis=-1)
towards = {"L": "left", "R": "right", "A": "anterior", "P": "posterior"}
towards |= {"S": "superior", "I": "inferior"}
derivative_titles = [f"d / d(axis {i})\n(→ {towards[mri_axes[i]]})" for i in range(3)]
conv_utils.plots.plot_volume_slices(
    [mri, edges[..., 0], edges[..., 1], edges[..., 2], magnitude],
    ["T1 MRI", *derivative_titles, "|gradient|"],
    cmap=["gray", "RdBu_r", "RdBu_r", "RdBu_r", "magma"],
    axcodes=mri_axes,
)

# %% [markdown]
# ### Training a 3D CNN on synthetic shapes
#
# Two volumes are not a dataset, so we generate one: spheres, cubes and tori drawn with random
# centre, size and **random 3D rotation**, soft edges, random brightness and Gaussian noise. Their
# volumes overlap, so counting bright voxels does not separate them. Training and test volumes
# come from different seeds.

# %%
shape_x, shape_y = conv_utils.shape_volumes.make_shapes_dataset(
    SHAPES_PER_CLASS, SHAPE_SIZE, SHAPE_NOISE, seed=0
)
shape_x_test, shape_y_test = conv_utils.shape_volumes.make_shapes_dataset(
    40, SHAPE_SIZE, SHAPE_NOISE, seed=1
)
print(
    f"train {shape_x.shape}, test {shape_x_test.shape}, classes {conv_utils.shape_volumes.SHAPE_CLASSES}"
)

# %% [markdown]
# Central slices of two examples of each class (the volumes have no anatomy, so the rows name
# the array axes): through noise and rotation, a slice of a torus can look like two blobs or a
# ring, a cube's slice is a polygon.

# %%
examples = [np.flatnonzero(shape_y == k)[i] for k in range(3) for i in range(2)]
conv_utils.plots.plot_volume_slices(
    [shape_x[i, ..., 0] for i in examples],
    [conv_utils.shape_volumes.SHAPE_CLASSES[shape_y[i]] for i in examples],
)

# %% [markdown]
# The 3D network mirrors the 1D one: `Conv3D` + ReLU + max pooling twice, one more `Conv3D`, global
# average pooling, softmax.

# %%
shape_model = conv_utils.models.build_shape_classifier(SHAPE_SIZE, 3)
steps = SHAPE_EPOCHS * math.ceil(len(shape_x) / 32)  # the learning rate decays to 0 over training
shape_model.compile(
    optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
[(layer.name, tuple(layer.output.shape[1:])) for layer in shape_model.layers]

# %% tags=["remove-input"]
sides = [SHAPE_SIZE] + [layer.output.shape[1] for layer in shape_model.layers[:5]]
workbook.prose.show(
    f"For a ${SHAPE_SIZE}^3$ volume the sides shrink "
    + " $\\to$ ".join(str(side) for side in sides)
    + ": each $3^3$ convolution takes 2 voxels off a side, each pooling halves it (rounding down)."
)

# %%
# NBVAL_IGNORE_OUTPUT
start = time.perf_counter()
shape_history = shape_model.fit(shape_x, shape_y, epochs=SHAPE_EPOCHS, batch_size=32, verbose=0)
seconds = time.perf_counter() - start
print(f"trained {SHAPE_EPOCHS} epochs in {seconds:.1f} s ({seconds / SHAPE_EPOCHS:.2f} s/epoch)")

# %% tags=["nbval-approximate"]
shape_pred = shape_model.predict(shape_x_test, verbose=0).argmax(axis=1)
shape_recall = recall_score(shape_y_test, shape_pred, average=None)
print(f"test accuracy {np.mean(shape_pred == shape_y_test):.3f}")
print(
    "recall per class:",
    {
        c: round(float(r), 3)
        for c, r in zip(conv_utils.shape_volumes.SHAPE_CLASSES, shape_recall, strict=True)
    },
)
conv_utils.plots.plot_confusion(
    confusion_matrix(shape_y_test, shape_pred),
    conv_utils.shape_volumes.SHAPE_CLASSES,
    "test volumes",
)

# %% [markdown]
# **3D feature maps.** The first layer's output is a stack of volumes, one per filter. Central
# slices of a test torus (left, grey) and of the ReLU maps (magma: black is zero): most filters
# return a smoothed, denoised copy of the solid ring (averaging $3^3$ noisy voxels beats looking at
# one), others fire on one side of its surface like the Sobel filters above, or mostly on the noise.

# %%
torus = shape_x_test[np.flatnonzero(shape_y_test == 2)[0]]
conv1_model = keras.Model(shape_model.inputs[0], shape_model.get_layer("conv1").output)
torus_maps = conv1_model(torus[None]).numpy()[0]
n_maps = torus_maps.shape[-1]
print(f"{n_maps} feature maps of {torus_maps.shape[:3]} voxels")
conv_utils.plots.plot_volume_slices(
    [torus[..., 0]] + [torus_maps[..., j] for j in range(n_maps)],
    ["input torus"] + [f"filter {j}" for j in range(n_maps)],
    cmap=["gray"] + ["magma"] * n_maps,
)

# %% [markdown]
# The same maps in 3D: the input's bright voxels, then the voxels where three of the filters respond
# above 60% of their maximum.

# %%
strongest = np.argsort(torus_maps.reshape(-1, torus_maps.shape[-1]).max(0))[::-1][:3]
conv_utils.plots.plot_voxels(
    [np.clip(torus[..., 0], 0, None)] + [torus_maps[..., j] for j in strongest],
    ["input torus"] + [f"conv1 filter {j}" for j in strongest],
    threshold=0.6,
    cmap=["gray", "magma", "magma", "magma"],
)

# %% [markdown]
# ### Video: time as the third axis
#
# A grey-level video of $T$ frames of $H \times W$ pixels is a $T \times H \times W$ volume, and
# Keras' `Conv3D` takes a batch of clips as `(batch, T, H, W, channels)`. A $3 \times 3 \times 3$
# kernel then sees a $3 \times 3$ patch in **three consecutive frames**, so it can respond to
# motion, which no 2D filter applied to one frame can see. Action recognition in videos is built
# on such kernels.
#
# A synthetic clip shows it: two identical squares, one moving right and one moving left by one
# pixel per frame. In any single frame they look the same. For a pattern moving right at one
# pixel per frame the time and space derivatives cancel, $I_t + I_x = 0$, so the kernel computing
# $I_t - I_x$ responds only to rightward motion and $I_t + I_x$ only to leftward motion
# (`conv_utils.video.motion_kernels`, central differences in $t$ and $x$, smoothed along $y$).
# We use no padding in time, so each response frame is centred on a frame of the clip.

# %%
clip = conv_utils.video.moving_squares_clip(frames=12, size=24, side=4)
motion = conv_utils.video.motion_kernels()
video_response = conv_utils.conv3d(clip.video[..., None], motion, padding=(0, 1, 1))
print(f"clip {clip.video.shape} (t, y, x) -> responses {video_response.shape}")
# mean |response| of each filter on each square's half of the frame
video_energy = {
    (name, moving): float(np.abs(video_response[:, rows, :, k]).mean())
    for k, name in enumerate(["rightward", "leftward"])
    for moving, rows in clip.rows.items()
}

# %% tags=["remove-input"]
workbook.prose.show(
    "Mean |response| on each square: the rightward filter gives"
    f" {video_energy['rightward', 'right']:.3f} on the square moving right and"
    f" {video_energy['rightward', 'left']:.3f} on the one moving left; the leftward filter gives"
    f" {video_energy['leftward', 'right']:.3f} and {video_energy['leftward', 'left']:.3f}."
    " Each filter answers only to its own direction of motion."
)

# %% [markdown]
# Frames of the clip and of both responses (red positive at the square's leading edge, blue at
# its trailing edge), and the x-t slices through the row of each square: in them a moving square
# draws a slanted band, and a 3D kernel is a small tilted edge detector in that plane.

# %%
conv_utils.plots.plot_video_responses(
    clip.video,
    [video_response[..., 0], video_response[..., 1]],
    ["clip", "rightward\nfilter", "leftward\nfilter"],
    xt_rows=[clip.centres["right"], clip.centres["left"]],
)

# %% [markdown]
# ## Step 5: parameters and cost in 1D, 2D and 3D
#
# A filter with the same receptive field $f$ on each axis holds $f^d \cdot C$ weights in $d$
# dimensions, so a layer of $F$ filters has $f^d C F + F$ parameters, and every output position costs
# $f^d C F$ multiply-adds. An input of side $n$ has $n^d$ positions. Both grow **exponentially in
# $d$**: going from 2D to 3D multiplies the parameters by $f$ and the work by about $f \cdot n$.
# Below: $f = 5$, $C = 16$, $F = 32$, `"same"` padding on an input of side $n = 64$.

# %%
rows = []
for d in (1, 2, 3):
    params = conv_utils.conv_param_count((5,) * d, 16, 32)
    positions = math.prod(
        conv_utils.conv_output_shape((64,) * d + (16,), (5,) * d, 32, padding="same")[:-1]
    )
    rows.append(
        f"Conv{d}D  filter {'x'.join(['5'] * d)}x16  params {params:>7,}  multiply-adds {positions * (params - 32):>13,}"
    )
print("\n".join(rows))

# %% [markdown]
# Keras counts the same parameters:

# %%
{
    f"Conv{d}D": keras.Sequential([keras.Input((14,) * d + (16,)), layer(32, 5)]).count_params()
    for d, layer in [(1, keras.layers.Conv1D), (2, keras.layers.Conv2D), (3, keras.layers.Conv3D)]
}

# %% tags=["remove-input"]
ct_side = 256  # voxels per side of a typical CT scan
workbook.prose.show(
    "This is why 3D CNNs use small filters ($3^3$), few channels in the first layers, early pooling"
    f" or strides, and small crops of big scans: our ${SHAPE_SIZE}^3$ training volumes hold"
    f" {SHAPE_SIZE**3:,} voxels, a ${ct_side}^3$ CT scan holds {(ct_side / SHAPE_SIZE) ** 3:,.0f}"
    " times more, and the same network would do that many times more work per scan (the training"
    " cell printed the time per epoch on your machine)."
)

# %% [markdown]
# ## Summary
#
# - One rule, $n_\text{out} = \lfloor (n + 2p - f)/s \rfloor + 1$ per spatial axis, and one output
#   channel per filter, gives every shape in 1D, 2D and 3D.
# - A convolution layer is a cross-correlation of the (padded) input with filters that span all input
#   channels; Keras stores them as `(f, C, F)` and `(f_1, f_2, f_3, C, F)`.
# - A small `Conv1D` network labels normal, ventricular and fusion beats of a real ECG, tested on a
#   later part of the recording; its first filters pick out the edges and widths of the QRS complex.
# - Sequences are often left to recurrent networks (next course); a 1D convolution instead sees a
#   fixed, computable receptive field, computes every position in parallel and is translation
#   equivariant (a delayed beat gives delayed feature maps).
# - `Conv3D` layers find oriented edges in a real MRI volume and learn to tell 3D shapes apart under
#   random rotations, at a cost that grows like $f^3$ per filter and $n^3$ per volume.
# - A video is a volume with time as its first axis: a $3 \times 3 \times 3$ kernel sees three
#   frames at once and can tell the direction of motion, which no filter on a single frame can.
#
# ## Exercises
#
# 1. Train the ECG network with `class_weight=None`. What happens to the recall of the fusion class?
# 2. Split the beats at random instead of by time (`sklearn.model_selection.train_test_split`). Why is
#    the accuracy higher, and why should we not believe it?
# 3. Give the first `Conv1D` layer a kernel of 5 instead of 15 taps. What do the filters respond to now?
# 4. Derive the output shape of a `Conv3D` with filters $3 \times 3 \times 3$, stride 2 and `"same"`
#    padding on a $15 \times 15 \times 15 \times 2$ input, then check it with `conv_output_shape`.
# 5. Replace `MaxPooling3D` in the shape classifier by strides of 2 in the convolutions. Count the
#    multiply-adds of both designs with `conv_param_count` and the shapes from Step 1.
# 6. Keep only the middle frame of the motion kernels (`motion[1:2]`: a 2D filter on each frame)
#    and run it on the clip. Why do both squares now give the same response, whichever way they
#    move?
