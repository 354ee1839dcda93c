# %% [markdown]
# # Neural style transfer 1: the content cost
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/07_content_cost.ipynb)
#
# Neural style transfer paints a photo (the *content* image $C$) in the manner of an artwork (the
# *style* image $S$) by changing the pixels of a generated image $G$ until a pretrained network
# "sees" the content of $C$ and the style of $S$ in it. This first notebook builds the content half.
#
# **You will** implement the content cost $J_{content}(C, G)$, see how large the activations of a
# VGG network are at different depths, and reconstruct a photo from random noise using only the
# content cost at a shallow, a middle and a deep layer, to see why style transfer compares
# contents at a middle layer.
#
# **Prerequisites:** convolutional networks (VGG), gradient descent. **Run time:** about 2 minutes
# on a 2-core CPU with the settings below.

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
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import nst_utils
from nst_utils.checks.nb07 import check_compute_content_cost
from workbook import data_path

# %% tags=["parameters"]
IMAGE_SIZE = 96  # pixels on the long side; 256 gives much sharper reconstructions (~7x slower)
STEPS = 80  # L-BFGS steps per reconstruction; 300+ removes most of the leftover noise
TV_WEIGHT = 3e-4  # a little smoothing removes the noise the deep layers cannot see
CONTENT_IMAGE = "photos/bern_from_north.jpg"
LAYERS = {"shallow": "block1_conv2", "middle": "block3_conv2", "deep": "block4_conv2"}

# %% [markdown]
# ## Step 1: the content image and the network
#
# Our content image is a photo of Bern. Images are float32 RGB arrays with values in $[0, 255]$;
# `load_image` resizes them so that the longer side has `IMAGE_SIZE` pixels.

# %%
content = nst_utils.load_float_image(data_path(CONTENT_IMAGE), size=IMAGE_SIZE)
print(nst_utils.credits(CONTENT_IMAGE))
content.shape

# %% [markdown]
# The photo, at the small size the notebook works with:

# %%
nst_utils.show_images([content], ["content image C"])
plt.show()

# %% [markdown]
# The network is VGG-16 with the 13 convolutional layers of HED, an edge detector fine-tuned from
# ImageNet VGG-16 with a tiny learning rate, so its filters stay close to ImageNet's (the course
# uses VGG-19; `load_backbone("vgg19_imagenet")` gives it when its weights can be downloaded).
# Its layers are named `blockB_convK`: block $B$ works at $1/2^{B-1}$ of the input resolution.

# %%
backbone = nst_utils.load_backbone("vgg16_hed")
backbone.conv_layers

# %% [markdown]
# `feature_extractor` builds one model that returns the activations of several layers in a
# single forward pass. Each activation has shape $(1, n_H, n_W, n_C)$: deeper layers have fewer
# positions and more channels.

# %%
extractor = nst_utils.feature_extractor(backbone, list(LAYERS.values()))
activations = extractor([backbone.preprocess(content[None])])
{name: tuple(a.shape) for name, a in activations.items()}


# %% [markdown]
# ## Step 2: the content cost
#
# Let $a^{(C)}$ and $a^{(G)}$ be the activations of the content image and of the generated image
# at one chosen layer, both of shape $(1, n_H, n_W, n_C)$. The content cost is
#
# $$J_{content}(C, G) = \frac{1}{4 \, n_H \, n_W \, n_C} \sum_{\text{all entries}} \left(a^{(C)} - a^{(G)}\right)^2 .$$
#
# The lecture writes $\frac{1}{2} \lVert a^{(C)} - a^{(G)} \rVert^2$; the two differ only by a
# constant factor, which the weight $\alpha$ of the content cost (notebook 09) absorbs. Dividing
# by the number of entries makes the cost comparable between layers and image sizes.
#
# ## Exercise 1: compute_content_cost (3 points)
#
# Implement the formula with TensorFlow operations. Take $n_H, n_W, n_C$ from the shape of `a_G`
# (not from a global variable), and sum over every entry.


# %% nbgrader={"grade": false, "grade_id": "ex_compute_content_cost", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compute_content_cost(a_C, a_G):
    """Content cost between two activations of the same layer.

    Args:
        a_C: activation of the content image, shape (1, n_H, n_W, n_C).
        a_G: activation of the generated image, same shape.

    Returns:
        J_content, a scalar tensor.
    """
    ### BEGIN SOLUTION
    _, n_H, n_W, n_C = a_G.shape
    return tf.reduce_sum(tf.square(a_C - a_G)) / (4 * n_H * n_W * n_C)
    ### END SOLUTION


# %% [markdown]
# A hand check: with $a^{(C)} = 0$ and $a^{(G)}$ holding $1, 2, 0, 3$ in a $(1, 1, 2, 2)$ tensor,
# the squares sum to $14$ and $4 n_H n_W n_C = 16$, so you should get $14/16 = 0.875$.

# %%
a_G_example = np.array([[[[1.0, 2.0], [0.0, 3.0]]]], np.float32)
float(compute_content_cost(np.zeros_like(a_G_example), a_G_example))

# %% nbgrader={"grade": true, "grade_id": "check_compute_content_cost", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
"Check that compute_content_cost matches sum((a_C - a_G)^2) / (4 n_H n_W n_C) on new shapes"
check_compute_content_cost(compute_content_cost)
### BEGIN HIDDEN TESTS
np.testing.assert_allclose(
    float(
        compute_content_cost(np.ones((1, 2, 2, 1), np.float32), np.zeros((1, 2, 2, 1), np.float32))
    ),
    0.25,
    rtol=1e-6,
)
np.testing.assert_allclose(
    float(compute_content_cost(activations["block3_conv2"], activations["block3_conv2"] * 0.5)),
    float(
        nst_utils.compute_content_cost(
            activations["block3_conv2"], activations["block3_conv2"] * 0.5
        )
    ),
    rtol=1e-5,
)
### END HIDDEN TESTS

# %% [markdown]
# ## Step 3: what a layer is sensitive to
#
# Before optimising anything, compare the content cost of the photo against two other images: the
# same photo shifted by 4 pixels (the same objects, slightly moved) and random noise (nothing in
# common). The ratio says how much of "different image" a small shift looks like to each layer.

# %%
shifted = np.roll(content, shift=4, axis=1)
noise = np.random.default_rng(0).uniform(0, 255, content.shape).astype(np.float32)
outputs = {
    name: extractor([backbone.preprocess(image[None])])
    for name, image in [("photo", content), ("shifted", shifted), ("noise", noise)]
}

# %% [markdown]
# Look at the ratios: the shallow layer rates a 4-pixel shift as a large change, because it
# compares pixels and edges at exact positions. The ratio falls with depth: deeper layers
# describe larger regions (their receptive fields grow) and care less about where exactly
# things are.

# %%
for depth, layer in LAYERS.items():
    J_shift = float(compute_content_cost(outputs["photo"][layer], outputs["shifted"][layer]))
    J_noise = float(compute_content_cost(outputs["photo"][layer], outputs["noise"][layer]))
    print(f"{depth:8s} {layer}: J(shifted) / J(noise) = {J_shift / J_noise:.3f}")

# %% [markdown]
# ## Step 4: reconstruct the photo from noise, one layer at a time
#
# Now turn the question around: start from noise and change the pixels until the content cost at
# one layer is as small as possible. Whatever the result keeps is what that layer encodes.
# `nst_utils.reconstruct` runs this optimisation (L-BFGS on the pixels, the package's
# `compute_content_cost`, and a little total-variation smoothing, `TV_WEIGHT`, against the
# high-frequency noise that deep layers cannot see). A `FrameRecorder` keeps the cost after every
# step. The costs are divided by the cost at the start, so that the three layers can share a plot.

# %%
reconstructions, histories = {}, {}
for depth, layer in LAYERS.items():
    recorder = nst_utils.FrameRecorder()
    reconstructions[depth] = nst_utils.reconstruct(
        content,
        content_layer=layer,
        size=IMAGE_SIZE,
        steps=STEPS,
        tv_weight=TV_WEIGHT,
        callback=recorder,
        seed=0,
    )
    histories[depth] = recorder.costs
sorted(reconstructions)

# %% [markdown]
# Compare each reconstruction with the photo. From the **shallow** layer the photo comes back
# nearly pixel for pixel: that layer is little more than a set of local colour and edge detectors.
# From the **middle** layer the layout, the river and the roofs come back but the colours and fine
# texture drift. From the **deep** layer only the coarse arrangement of objects survives. With
# more steps and larger images (e.g. `IMAGE_SIZE = 256`, `STEPS = 300`) the middle and deep
# reconstructions become cleaner, but the pattern stays.

# %%
titles = ["photo"] + [f"{depth}: {layer}" for depth, layer in LAYERS.items()]
nst_utils.show_images([content, *reconstructions.values()], titles, size=2.0)
print(nst_utils.credits(CONTENT_IMAGE), "(reconstructions are adaptations)")

# %% [markdown]
# The cost curves (content cost plus the small smoothing term, relative to the start): all three
# fall fast, so the differences above are not a failure to optimise; they are what each layer
# chooses to keep. The shallow curve levels off where the smoothing term, which also charges the
# photo's real edges, balances the content cost.

# %%
fig, ax = plt.subplots(figsize=(5, 3))
for depth, history in histories.items():
    steps, costs = zip(*history, strict=True)
    ax.semilogy(steps, costs, label=f"{depth} ({LAYERS[depth]})")
ax.set(xlabel="L-BFGS step", ylabel="cost / cost at start")
ax.legend()
plt.show()

# %%
# NBVAL_IGNORE_OUTPUT
import time

start = time.perf_counter()
nst_utils.reconstruct(content, content_layer=LAYERS["middle"], size=IMAGE_SIZE, steps=10)
print(f"{(time.perf_counter() - start) / 10 * 1000:.0f} ms/step at {IMAGE_SIZE} px (this machine)")

# %% [markdown]
# ## Summary
#
# * The content cost compares the activations of the content and the generated image at one
#   layer: $J_{content} = \frac{1}{4 n_H n_W n_C}\sum (a^{(C)} - a^{(G)})^2$.
# * A shallow layer keeps the pixels, so matching it would simply copy the photo; a deep layer
#   keeps only what is where. Style transfer uses a layer in between (here `block4_conv2`, as in
#   Gatys et al.), so that the layout survives while the brushwork is free to change.
# * Reconstruction from noise is a general tool to see what a layer encodes.
#
# ## Exercises
#
# 1. Reconstruct from `block2_conv2` and `block5_conv2`. Where does the colour get lost?
# 2. Set `TV_WEIGHT = 0` and compare the deep reconstruction. Why does the noise stay?
# 3. Shift the photo by 1, 4 and 16 pixels in Step 3. How does the ratio grow with the shift at
#    each layer, and how does that relate to the layer's receptive field?
