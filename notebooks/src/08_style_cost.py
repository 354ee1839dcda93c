# %% [markdown]
# # Neural style transfer 2: the style cost
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/08_style_cost.ipynb)
#
# Notebook 07 measured *content* by comparing activations position by position. Style is
# different: the brush strokes of a painting appear everywhere, in no particular place. Gatys et
# al. capture it with **Gram matrices**: which features of a layer fire *together*, summed over
# all positions.
#
# **You will** implement `gram_matrix` and the style cost of one layer (and meet the reshape trap
# on the way), look at a Gram matrix as a heatmap, and reconstruct a painting's style from noise
# with more and more layers.
#
# **Prerequisites:** notebook 07. **Run time:** about 3 minutes on a 2-core CPU with the settings
# below.

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
from nst_utils.checks.nb08 import check_compute_layer_style_cost, check_gram_matrix
from workbook import data_path

# %% tags=["parameters"]
IMAGE_SIZE = 96  # pixels on the long side; 256 shows the brush strokes much better (~7x slower)
STEPS = 60  # L-BFGS steps per style reconstruction; 200+ gives cleaner textures
STYLE_IMAGE = "art/starry_night.jpg"
CONTENT_IMAGE = "photos/bern_from_north.jpg"
STYLE_LAYER_NAMES = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]

# %% [markdown]
# ## Step 1: the style image

# %%
style = nst_utils.load_float_image(data_path(STYLE_IMAGE), size=IMAGE_SIZE)
print(nst_utils.credits(STYLE_IMAGE))
style.shape

# %% [markdown]
# Van Gogh's swirls, at the small size we work with:

# %%
nst_utils.show_images([style], ["style image S"])
plt.show()


# %% [markdown]
# ## Step 2: the Gram matrix
#
# Unroll a layer's activation into a matrix $A$ of shape $(n_C, n_H n_W)$: one row per channel,
# holding that channel's value at every position. The Gram matrix
#
# $$G = A A^T, \qquad G_{ij} = \sum_{k=1}^{n_H n_W} A_{ik} A_{jk}$$
#
# is $(n_C, n_C)$: $G_{ij}$ is large when channels $i$ and $j$ are active at the same places
# (for instance "blue" and "curved stroke"), and the diagonal $G_{ii}$ says how active channel
# $i$ is overall. Positions are summed away, which is exactly why $G$ describes style and not
# layout.
#
# ## Exercise 1: gram_matrix (2 points)


# %% nbgrader={"grade": false, "grade_id": "ex_gram_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gram_matrix(A):
    """Gram matrix of an unrolled activation.

    Args:
        A: tensor of shape (n_C, n_H * n_W).

    Returns:
        GA, the Gram matrix of A, shape (n_C, n_C).
    """
    ### BEGIN SOLUTION
    return tf.matmul(A, tf.transpose(A))
    ### END SOLUTION


# %% [markdown]
# A hand check: for $A = \begin{pmatrix}1 & 2 & 3\\ 0 & 1 & -1\end{pmatrix}$ (2 channels,
# 3 positions) you should get $\begin{pmatrix}14 & -1\\ -1 & 2\end{pmatrix}$.

# %%
gram_matrix(np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]], np.float32)).numpy()

# %% nbgrader={"grade": true, "grade_id": "check_gram_matrix", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"Check that gram_matrix returns A A^T of shape (n_C, n_C)"
check_gram_matrix(gram_matrix)

# %% [markdown]
# ## Step 3: unrolling, and the reshape trap
#
# An activation comes as $(1, n_H, n_W, n_C)$. To get $A$ with one row per channel, it is tempting
# to write `tf.reshape(a, (n_C, -1))`. That has the right shape and is wrong: a reshape keeps the
# order of the numbers in memory, where the **channel index changes fastest** (channels last). The
# correct way is to reshape to $(n_H n_W, n_C)$, one row per position, and then transpose.
#
# See it on a tiny activation whose value at channel $c$ and position $p$ is $100c + p$: every
# row of a correct $A$ must hold one channel, i.e. one "hundred".

# %%
n_H, n_W, n_C = 2, 2, 3
position = np.arange(n_H * n_W).reshape(1, n_H, n_W, 1)
a_tiny = (100 * np.arange(n_C) + position).astype(np.float32)  # shape (1, 2, 2, 3)
print(
    "correct: reshape to (n_H*n_W, n_C), then transpose\n",
    tf.transpose(tf.reshape(a_tiny, (-1, n_C))).numpy(),
)
print("the trap: reshape straight to (n_C, -1)\n", tf.reshape(a_tiny, (n_C, -1)).numpy())


# %% [markdown]
# In the trap's first row, channels 0, 1 and 2 of the first positions are mixed up: its "Gram
# matrix" would correlate meaningless mixtures. Since shapes match, nothing crashes; only the
# numbers are wrong, which is why the check below tests for it.
#
# The style cost of one layer compares the Gram matrices of the style image, $G^{(S)}$, and of
# the generated image, $G^{(G)}$:
#
# $$J^{[l]}_{style}(S, G) = \frac{1}{4 \, n_C^2 \, (n_H n_W)^2} \sum_{i=1}^{n_C} \sum_{j=1}^{n_C} \left(G^{(S)}_{ij} - G^{(G)}_{ij}\right)^2 .$$
#
# The lecture's constants are the same up to a factor that the weights $\lambda^{[l]}$ and
# $\beta$ absorb.
#
# ## Exercise 2: compute_layer_style_cost (3 points)
#
# Unroll both activations correctly, use your `gram_matrix`, then apply the formula. Take the
# dimensions from `a_G.shape`.


# %% nbgrader={"grade": false, "grade_id": "ex_compute_layer_style_cost", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compute_layer_style_cost(a_S, a_G):
    """Style cost of one layer.

    Args:
        a_S: activation of the style image, shape (1, n_H, n_W, n_C).
        a_G: activation of the generated image, shape (1, n_H, n_W, n_C).

    Returns:
        J_style_layer, a scalar tensor.
    """
    ### BEGIN SOLUTION
    _, n_H, n_W, n_C = a_G.shape
    a_S = tf.transpose(tf.reshape(a_S, (-1, n_C)))
    a_G = tf.transpose(tf.reshape(a_G, (-1, n_C)))
    GS, GG = gram_matrix(a_S), gram_matrix(a_G)
    return tf.reduce_sum(tf.square(GS - GG)) / (4 * n_C**2 * (n_H * n_W) ** 2)
    ### END SOLUTION


# %% [markdown]
# A hand check: $a^{(S)}$ of ones with shape $(1, 1, 2, 1)$ gives $G^{(S)} = (2)$; with
# $a^{(G)} = 0$ the cost is $2^2 / (4 \cdot 1 \cdot 2^2) = 0.25$.

# %%
float(
    compute_layer_style_cost(np.ones((1, 1, 2, 1), np.float32), np.zeros((1, 1, 2, 1), np.float32))
)

# %% nbgrader={"grade": true, "grade_id": "check_compute_layer_style_cost", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
"Check that compute_layer_style_cost unrolls correctly (no reshape trap) and normalises by 4 n_C^2 (n_H n_W)^2"
check_compute_layer_style_cost(compute_layer_style_cost)
### BEGIN HIDDEN TESTS
rng_hidden = np.random.default_rng(123)
a_one, a_two = (rng_hidden.random((1, 3, 2, 4)).astype(np.float32) for _ in range(2))
np.testing.assert_allclose(
    float(compute_layer_style_cost(a_one, a_two)),
    float(nst_utils.compute_layer_style_cost(a_one, a_two)),
    rtol=1e-4,
)
assert abs(float(compute_layer_style_cost(a_one, a_one))) < 1e-9
### END HIDDEN TESTS

# %% [markdown]
# ## Step 4: a Gram matrix as a heatmap
#
# Compute the Gram matrices of the first layer for the painting and for a photo, divided by
# $n_H n_W$ so that they do not depend on the image size. We show the first 24 of the 64 channels.

# %%
backbone = nst_utils.load_backbone("vgg16_hed")
extractor = nst_utils.feature_extractor(backbone, STYLE_LAYER_NAMES)
photo = nst_utils.load_float_image(data_path(CONTENT_IMAGE), size=IMAGE_SIZE)
features = {
    "painting": extractor([backbone.preprocess(style[None])]),
    "photo": extractor([backbone.preprocess(photo[None])]),
}


def normalised_gram(a):
    """Gram matrix of a (1, n_H, n_W, n_C) activation, divided by n_H n_W."""
    _, n_H, n_W, n_C = a.shape
    return gram_matrix(tf.transpose(tf.reshape(a, (-1, n_C)))) / (n_H * n_W)


grams = {name: normalised_gram(f["block1_conv1"])[:24, :24].numpy() for name, f in features.items()}
{name: g.shape for name, g in grams.items()}

# %% [markdown]
# Look for the structure: both matrices are symmetric, bright diagonals mark the busiest channels,
# and the off-diagonal pattern (which features co-occur) differs between the swirling blue-yellow
# painting and the photo. That pattern is what the style cost asks the generated image to copy.

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
for ax, (name, gram) in zip(axes, grams.items(), strict=True):
    image = ax.imshow(gram, cmap="viridis")
    ax.set_title(f"{name}: block1_conv1 Gram / (n_H n_W)", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
print(nst_utils.credits(STYLE_IMAGE, CONTENT_IMAGE))

# %% [markdown]
# Because positions are summed away, the style cost hardly depends on the image size: the painting
# at two sizes is much closer in style than the painting and the photo. (The package's
# `compute_layer_style_cost` divides each Gram matrix by its own $n_C n_H n_W$, so the style image
# may have a different size or aspect ratio from the generated image.)

# %%
bigger = nst_utils.load_float_image(data_path(STYLE_IMAGE), size=int(IMAGE_SIZE * 1.5))
features["bigger painting"] = extractor([backbone.preprocess(bigger[None])])
for other in ["bigger painting", "photo"]:
    J = nst_utils.compute_layer_style_cost(
        features["painting"]["block2_conv1"], features[other]["block2_conv1"]
    )
    print(f"style cost, painting vs {other:15s}: {float(J):.3g}")

# %% [markdown]
# ## Step 5: reconstruct the style from noise with layers 1..k
#
# As in notebook 07, start from noise and optimise the pixels, now to match the Gram matrices of
# the first $k$ style layers (equal weights). The result has the painting's *texture* but none of
# its layout, and the more layers, the larger the structures it reproduces.

# %%
style_images = [
    nst_utils.reconstruct(style, style_layers=STYLE_LAYER_NAMES[:k], size=IMAGE_SIZE, steps=STEPS)
    for k in range(1, len(STYLE_LAYER_NAMES) + 1)
]

# %% [markdown]
# With `block1_conv1` alone you get the palette and pixel-scale grain; adding `block2_conv1` and
# `block3_conv1` brings stroke-like elongated patterns; the deepest layers add larger swirls. At
# `IMAGE_SIZE = 256` and a few hundred steps these become recognisably van Gogh-like.

# %%
titles = ["style"] + [f"layers 1..{k}" for k in range(1, len(STYLE_LAYER_NAMES) + 1)]
nst_utils.show_images([style, *style_images], titles, ncols=3, size=1.8)
print(nst_utils.credits(STYLE_IMAGE))

# %% [markdown]
# ## Summary
#
# * A Gram matrix $G = A A^T$ of an unrolled activation measures which channels fire together,
#   with positions summed away: a description of texture, not layout.
# * Unroll channels-last activations by reshaping to $(n_H n_W, n_C)$ and transposing; a direct
#   reshape to $(n_C, -1)$ silently mixes channels.
# * $J^{[l]}_{style}$ compares Gram matrices, normalised by $4 n_C^2 (n_H n_W)^2$; combining
#   several layers (notebook 09) captures texture at several scales.
#
# ## Exercises
#
# 1. Reconstruct with `block3_conv1` *alone*. What is missing compared with layers 1..3?
# 2. Replace `STYLE_IMAGE` with `"art/composition_vii.jpg"` and compare the Gram heatmaps.
# 3. Show that `compute_layer_style_cost(a, a_shuffled)` is 0 when `a_shuffled` permutes the
#    positions of `a` (but not its channels). What does that say about layout?
