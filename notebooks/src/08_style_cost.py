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
# on the way), look at a Gram matrix as a heatmap, see that it is a cross-covariance whose means
# were not subtracted, and reconstruct a painting's style from noise with more and more layers.
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
import workbook.prose
from nst_utils.checks.nb08 import check_compute_layer_style_cost, check_gram_matrix
from workbook import data_path

# %% tags=["parameters"]
IMAGE_SIZE = 256  # pixels on the long side of the images and of every reconstruction
# coarse to fine: (long side, L-BFGS steps) per level; the last size must be IMAGE_SIZE
SCHEDULE = [(128, 60), (256, 40)]
STYLE_IMAGE = "art/starry_night.jpg"
CONTENT_IMAGE = "photos/bern_from_north.jpg"
BACKBONE = "squeezenet_imagenet"  # why this one: Step 6
STYLE_LAYER_NAMES = ["conv1", "fire2_concat", "fire4_concat", "fire6_concat", "fire8_concat"]
GRAM_CHANNELS = 24  # channels of the first layer shown in the heatmaps (of 64)

# %% [markdown]
# ## Step 1: the style image

# %%
style = nst_utils.load_float_image(data_path(STYLE_IMAGE), size=IMAGE_SIZE)
print(nst_utils.credits(STYLE_IMAGE))
style.shape

# %% [markdown]
# Van Gogh's swirls, at the size we work with:

# %%
nst_utils.show_images([style], ["style image S"], size=2.6)
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
# The lecture writes the constant in front as $\frac{1}{(2 n_H n_W n_C)^2}$. That is exactly our
# constant, not just up to a factor: $(2 n_H n_W n_C)^2 = 4 \, n_C^2 \, (n_H n_W)^2$. (Only the
# content cost differs by a constant factor from the lecture's, as notebook 07 says.) A check
# on the tiny activation's dimensions:

# %%
print(
    "(2 n_H n_W n_C)^2 == 4 n_C^2 (n_H n_W)^2:",
    (2 * n_H * n_W * n_C) ** 2 == 4 * n_C**2 * (n_H * n_W) ** 2,
)

# %% [markdown]
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
# The network here is SqueezeNet 1.1 trained on ImageNet (the network of Stanford CS231n's
# style-transfer assignment; Step 6 says why we use it). Its first layer `conv1` has 64 channels;
# the later layers are *fire modules*, `fireN_concat`. Compute the Gram matrices of `conv1` for
# the painting and for a photo, divided by $n_H n_W$ so that they do not depend on the image
# size, and show the first `GRAM_CHANNELS` channels.

# %%
backbone = nst_utils.load_backbone(BACKBONE)
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


first = STYLE_LAYER_NAMES[0]
grams = {name: normalised_gram(f[first]).numpy() for name, f in features.items()}
{name: g.shape for name, g in grams.items()}

# %% [markdown]
# One colour scale for both, so that colours compare across the two panels:

# %%
shown = {name: g[:GRAM_CHANNELS, :GRAM_CHANNELS] for name, g in grams.items()}
top = max(g.max() for g in shown.values())
fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.4), layout="constrained")
for ax, (name, gram) in zip(axes, shown.items(), strict=True):
    image = ax.imshow(gram, cmap="viridis", vmin=0, vmax=top)
    ax.set(title=f"{name}: {first}, $G / (n_H n_W)$", xlabel="channel j", ylabel="channel i")
    ax.title.set_fontsize(9)
fig.colorbar(image, ax=axes, shrink=0.85, label="$G_{ij} / (n_H n_W)$")
plt.show()
print(nst_utils.credits(STYLE_IMAGE, CONTENT_IMAGE))

# %% tags=["remove-input"]
rows_led = {name: int(np.sum(g.argmax(axis=1) == np.arange(len(g)))) for name, g in grams.items()}
workbook.prose.show(
    f"Both matrices are symmetric, and their patterns differ: which features fire together in the"
    f" blue-yellow swirls is not what fires together in the photo. The diagonal is *not* bright"
    f" all along: $G_{{ii}}$ is the largest entry of its row in only {rows_led['painting']} of the"
    f" {len(grams['painting'])} rows for the painting and {rows_led['photo']} for the photo. A"
    " busy channel lights up its whole row and column, since $G_{ij} \\le \\sqrt{G_{ii} G_{jj}}$"
    " (Cauchy-Schwarz) allows an off-diagonal entry to exceed the smaller of its two diagonal"
    " entries. The next step shows where that brightness comes from."
)

# %% [markdown]
# ## Step 5: an unnormalised cross-covariance
#
# Divided by the number of positions, $G_{ij} / (n_H n_W)$ is the average over positions of
# $a_i a_j$. Write each channel as its mean $\mu_i$ plus a deviation: the average splits into
#
# $$\frac{G_{ij}}{n_H n_W} = \mu_i \mu_j + C_{ij}, \qquad C_{ij} = \frac{1}{n_H n_W} \sum_k
# (A_{ik} - \mu_i)(A_{jk} - \mu_j),$$
#
# where $C$ is the channels' cross-covariance. The Gram matrix is that covariance *without the
# means subtracted*: after a ReLU every activation is $\ge 0$, so the means are large and
# $\mu_i \mu_j$ can dominate. Check the identity on the painting's activations:

# %%
a = features["painting"][first].numpy().reshape(-1, grams["painting"].shape[0])  # (n_H n_W, n_C)
mu = a.mean(axis=0)
covariance = np.cov(a, rowvar=False, bias=True)
parts = {"$G / (n_H n_W)$": grams["painting"], "$\\mu \\mu^T$": np.outer(mu, mu), "$C$": covariance}
print(
    "G / (n_H n_W) == mu mu^T + C:",
    np.allclose(grams["painting"], np.outer(mu, mu) + covariance, rtol=1e-4, atol=1e-2),
)

# %%
top = max(np.abs(p[:GRAM_CHANNELS, :GRAM_CHANNELS]).max() for p in parts.values())
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3), layout="constrained")
for ax, (name, part) in zip(axes, parts.items(), strict=True):
    image = ax.imshow(part[:GRAM_CHANNELS, :GRAM_CHANNELS], cmap="RdBu_r", vmin=-top, vmax=top)
    ax.set(title=f"painting, {first}: {name}", xlabel="channel j", ylabel="channel i")
    ax.title.set_fontsize(9)
fig.colorbar(image, ax=axes, shrink=0.85, label="value (shared scale)")
plt.show()

# %% tags=["remove-input"]
share = np.sum(np.outer(mu, mu) ** 2) / np.sum(grams["painting"] ** 2)
rows_c = int(np.sum(np.abs(covariance).argmax(axis=1) == np.arange(len(covariance))))
workbook.prose.show(
    f"The means' part $\\mu \\mu^T$ holds {share:.0%} of the Gram matrix's sum of squared"
    f" entries for the painting. Once it is taken away, the diagonal of $C$ (each channel's"
    f" variance) is the largest entry, in absolute value, of {rows_c} of the {len(covariance)}"
    " rows. Gatys et al. keep the means in: they are part of the style (how much of each feature"
    " there is, e.g. how much blue), and the style cost compares both at once."
)

# %% [markdown]
# Because positions are summed away, the style cost hardly depends on the image size: the painting
# at two sizes is much closer in style than the painting and the photo. (The package's
# `compute_layer_style_cost` divides each Gram matrix by its own $n_C n_H n_W$, so the style image
# may have a different size or aspect ratio from the generated image.)

# %%
bigger = nst_utils.load_float_image(data_path(STYLE_IMAGE), size=int(IMAGE_SIZE * 1.5))
features["bigger painting"] = extractor([backbone.preprocess(bigger[None])])
second = STYLE_LAYER_NAMES[1]
for other in ["bigger painting", "photo"]:
    J = nst_utils.compute_layer_style_cost(features["painting"][second], features[other][second])
    print(f"style cost at {second}, painting vs {other:15s}: {float(J):.3g}")

# %% [markdown]
# ## Step 6: reconstruct the style from noise with layers 1..k
#
# As in notebook 07, start from noise and optimise the pixels, now to match the Gram matrices of
# the first $k$ style layers (equal weights), coarse to fine (`SCHEDULE`). The result has the
# painting's *texture* but none of its layout. SqueezeNet is the network here because it shows
# the layers' differences best for the time: a step of VGG-16 (HED) costs tens of times more
# (notebook 07 counts it), which kept this notebook at small images where layers 1..3, 1..4 and
# 1..5 looked alike; Darknet tiny is as cheap as SqueezeNet, but in our trials its
# reconstructions hardly changed beyond layers 1..2.

# %%
style_images = [
    nst_utils.reconstruct(
        style, style_layers=STYLE_LAYER_NAMES[:k], schedule=SCHEDULE, backbone=BACKBONE, seed=0
    )
    for k in range(1, len(STYLE_LAYER_NAMES) + 1)
]
[image.shape for image in style_images]

# %% [markdown]
# With `conv1` alone you get the palette in blotches with pixel-scale grain, but no strokes;
# adding `fire2_concat` brings short elongated strokes; with `fire4_concat` the strokes bend into
# small swirls and yellow stars. Layers 1..4 and 1..5 add a few larger swirls than 1..3, but the
# step is much smaller, and from layers 1..3 on straight horizontal and vertical seams appear
# (most likely an artefact of the strided layers, which see the image through positions 8 and
# 16 pixels apart). No number of layers gives back the painting's layout: no cypress, no
# village, no horizon.

# %%
titles = ["style image S"] + [f"layers 1..{k}" for k in range(1, len(STYLE_LAYER_NAMES) + 1)]
nst_utils.show_images([style, *style_images], titles, ncols=3, size=2.2)
plt.show()
print(nst_utils.credits(STYLE_IMAGE), "(reconstructions are adaptations)")

# %% [markdown]
# The pictures can be checked with numbers: for each reconstruction (a row), the style cost at
# every layer (a column), relative to the cost of the noise it started from; darker is closer
# to the painting.

# %%
start = nst_utils.reconstruct(  # zero steps: the noise image every reconstruction starts from
    style, style_layers=STYLE_LAYER_NAMES[:1], size=IMAGE_SIZE, steps=0, backbone=BACKBONE
)
outputs = [
    extractor([backbone.preprocess(np.float32(image)[None])]) for image in [start, *style_images]
]
target = features["painting"]
relative = np.array(
    [
        [
            float(nst_utils.compute_layer_style_cost(target[layer], out[layer]))
            / float(nst_utils.compute_layer_style_cost(target[layer], outputs[0][layer]))
            for layer in STYLE_LAYER_NAMES
        ]
        for out in outputs[1:]
    ]
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
image = ax.imshow(np.log10(relative), cmap="magma", vmin=-4, vmax=0)
for (row, col), value in np.ndenumerate(relative):
    ax.text(
        col,
        row,
        f"{value:.0e}",
        ha="center",
        va="center",
        fontsize=7,
        color="white" if value < 1e-2 else "black",
    )
ax.set_xticks(range(len(STYLE_LAYER_NAMES)), STYLE_LAYER_NAMES, rotation=20, fontsize=8)
ax.set_yticks(range(len(style_images)), [f"1..{k + 1}" for k in range(len(style_images))])
ax.set(xlabel="style cost measured at layer", ylabel="reconstructed from layers")
fig.colorbar(image, ax=ax, label="log10(cost / cost of the noise start)")
plt.show()

# %% tags=["remove-input", "nbval-approximate"]
drops = [relative[k - 1, k] / relative[k, k] for k in range(1, len(STYLE_LAYER_NAMES))]
workbook.prose.show(
    "Down each column, a layer's cost drops when the layer joins the reconstruction (the cell on"
    f" the diagonal is {min(drops):.1f} to {max(drops):.0f} times darker than the one above it),"
    " and the layers left out keep a large cost. But the layers share one image: with all five,"
    f" `{STYLE_LAYER_NAMES[0]}` ends at {relative[-1, 0]:.0e} of its start, against"
    f" {relative[0, 0]:.0e} when it was matched alone. That is why the colours and the fine"
    " grain of layers 1..1 are not simply kept when deeper layers are added."
)


# %% [markdown]
# ## Summary
#
# * A Gram matrix $G = A A^T$ of an unrolled activation measures which channels fire together,
#   with positions summed away: a description of texture, not layout.
# * Divided by $n_H n_W$ it is $\mu \mu^T + C$: the channels' cross-covariance $C$ plus the
#   product of their means, which are not subtracted (and carry much of the style's colour).
# * Unroll channels-last activations by reshaping to $(n_H n_W, n_C)$ and transposing; a direct
#   reshape to $(n_C, -1)$ silently mixes channels.
# * $J^{[l]}_{style}$ compares Gram matrices, normalised by $4 n_C^2 (n_H n_W)^2$, which is
#   exactly the lecture's $(2 n_H n_W n_C)^2$; combining several layers (notebook 09) captures
#   texture at several scales.
#
# ## Exercises
#
# 1. Reconstruct with `fire4_concat` *alone*. What is missing compared with layers 1..3?
# 2. Replace `STYLE_IMAGE` with `"art/composition_vii.jpg"` and compare the Gram heatmaps.
# 3. Show that `compute_layer_style_cost(a, a_shuffled)` is 0 when `a_shuffled` permutes the
#    positions of `a` (but not its channels). What does that say about layout?
# 4. Subtract each channel's mean from the activations before the Gram matrix (a "covariance
#    style cost") and reconstruct from layers 1..2. What happens to the colours?
