# %% [markdown]
# # Neural style transfer 1: the content cost
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/07_content_cost.ipynb)
#
# Neural style transfer paints a photo (the *content* image $C$) in the manner of an artwork (the
# *style* image $S$) by changing the pixels of a generated image $G$ until a pretrained network
# "sees" the content of $C$ and the style of $S$ in it. This first notebook builds the content half.
#
# **You will** implement the content cost $J_{content}(C, G)$, see how large the activations of a
# convolutional network are at different depths, and reconstruct a photo from random noise using
# only the content cost at a shallow, a middle and a deep layer, to see why style transfer
# compares contents at a middle layer.
#
# **Prerequisites:** convolutional networks, gradient descent. **Run time:** about 2 minutes
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
import workbook.prose
from nst_utils.checks.nb07 import check_compute_content_cost
from workbook import data_path

# %% tags=["parameters"]
IMAGE_SIZE = 256  # pixels on the long side of the photo and of every reconstruction
# coarse to fine: (long side, L-BFGS steps) per level; the last size must be IMAGE_SIZE
SCHEDULE = [(128, 60), (256, 40)]
TV_WEIGHT = 3e-4  # a little smoothing removes the noise the deep layers cannot see
CONTENT_IMAGE = "photos/bern_from_north.jpg"
BACKBONE = "darknet_tiny_imagenet"  # why this one: Step 5
LAYERS = {"shallow": "leaky_re_lu_2", "middle": "leaky_re_lu_8", "deep": "leaky_re_lu_14"}
VGG_LAYER = "block4_conv2"  # VGG-16's middle layer, the content layer of Gatys et al.
VGG_SCHEDULE = [(128, 60), (256, 20)]  # VGG costs many times more per step (Step 5)

# %% [markdown]
# ## Step 1: the content image and the network
#
# Our content image is a photo of Bern. Images are float32 RGB arrays with values in $[0, 255]$;
# `load_float_image` resizes them so that the longer side has `IMAGE_SIZE` pixels.

# %%
content = nst_utils.load_float_image(data_path(CONTENT_IMAGE), size=IMAGE_SIZE)
print(nst_utils.credits(CONTENT_IMAGE))
content.shape

# %% [markdown]
# The photo, at the size the notebook works with:

# %%
nst_utils.show_images([content], ["content image C"])
plt.show()

# %% [markdown]
# The course uses VGG-19 trained on ImageNet. This notebook uses a much smaller ImageNet
# classifier, Darknet "tiny" (Step 5 compares it with the workbook's VGG-16 and says why): 16
# convolutions, each but the last (the classifier) followed by batch normalisation and a leaky
# ReLU. Its layers are named in order: `leaky_re_lu_N` is the output of convolution $N$.
# Max-pooling halves the resolution after activations 1, 2, 6 and 10, so layer 2 works at 1/2
# of the input resolution, layer 8 at 1/8 and layer 14 at 1/16. Every activation layer:

# %%
backbone = nst_utils.load_backbone(BACKBONE)
[layer.name for layer in backbone.model.layers if layer.name.startswith("leaky")]

# %% [markdown]
# `feature_extractor` builds one model that returns the activations of several layers in a
# single forward pass. Each activation has shape $(1, n_H, n_W, n_C)$: deeper layers have fewer
# positions and more channels. These are our shallow, middle and deep layers:

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
a_hidden = activations[LAYERS["middle"]]
np.testing.assert_allclose(
    float(compute_content_cost(a_hidden, a_hidden * 0.5)),
    float(nst_utils.compute_content_cost(a_hidden, a_hidden * 0.5)),
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
# The ratio says how much of "a different image" a 4-pixel shift is to each layer. A layer that
# compares pixels and edges at exact positions rates even a small shift as a large change; a
# layer whose units see larger regions (receptive fields grow with depth) should care less.

# %%
ratios = {}
for depth, layer in LAYERS.items():
    J_shift = float(compute_content_cost(outputs["photo"][layer], outputs["shifted"][layer]))
    J_noise = float(compute_content_cost(outputs["photo"][layer], outputs["noise"][layer]))
    ratios[depth] = J_shift / J_noise
    print(f"{depth:8s} {layer}: J(shifted) / J(noise) = {ratios[depth]:.3f}")

# %% tags=["remove-input"]
trend = "falls" if ratios["deep"] < ratios["shallow"] else "does not fall"
workbook.prose.show(
    f"Here the ratio {trend} from {ratios['shallow']:.3f} (shallow) to {ratios['deep']:.3f}"
    " (deep), a weaker effect than the pictures of Step 4 will show: even the deep layer still"
    f" sees the shifted photo about 1/{1 / ratios['deep']:.0f} of the way to noise. One number"
    " per layer hides a lot"
    " (Exercise 3 varies the shift); reconstructing the image shows what a layer keeps."
)

# %% [markdown]
# ## Step 4: reconstruct the photo from noise, one layer at a time
#
# Now turn the question around: start from noise and change the pixels until the content cost at
# one layer is as small as possible. Whatever the result keeps is what that layer encodes.
# `nst_utils.reconstruct` runs this optimisation (L-BFGS on the pixels, the package's
# `compute_content_cost`, and a little total-variation smoothing, `TV_WEIGHT`, against the
# high-frequency noise that deep layers cannot see). It works coarse to fine (`SCHEDULE`): most
# steps on a half-size image, where a step costs a quarter as much, then the rest at full size.
# A callback keeps the cost and the time after every step.


# %%
def record(info):
    """Keep each step's (step, cost) and (level, seconds since the start)."""
    histories[depth].append((info.step, info.cost))
    timelines[depth].append((info.level, info.seconds))


reconstructions, histories, timelines = {}, {}, {}
for depth, layer in LAYERS.items():
    histories[depth], timelines[depth] = [], []
    reconstructions[depth] = nst_utils.reconstruct(
        content,
        content_layer=layer,
        schedule=SCHEDULE,
        tv_weight=TV_WEIGHT,
        backbone=BACKBONE,
        callback=record,
        seed=0,
    )
{depth: image.shape for depth, image in reconstructions.items()}

# %% [markdown]
# Compare each reconstruction with the photo. From the **shallow** layer the photo comes back
# nearly pixel for pixel: that layer is little more than a set of local colour and edge detectors.
# From the **middle** layer the layout comes back (the river bank, the bridge on the left, the
# line of the hills) while the colours fade and the houses and trees are redrawn as a texture.
# From the **deep** layer only a faint trace of the arrangement survives (the line of the hills,
# the curve of the river bank) under a texture of things the network recognises.

# %%
titles = ["photo"] + [f"{depth}: {layer}" for depth, layer in LAYERS.items()]
nst_utils.show_images([content, *reconstructions.values()], titles, ncols=2, size=2.3)
plt.show()
print(nst_utils.credits(CONTENT_IMAGE), "(reconstructions are adaptations)")

# %% [markdown]
# The cost curves (content cost plus the small smoothing term, relative to the cost at the start
# of each level of the schedule): all three fall fast, so the differences above are not a
# failure to optimise; they are what each layer chooses to keep. The curves restart at 1 where
# the schedule moves to the full size: each level's cost is relative to its own start, the
# upsampled (blurred) result of the level before. The shallow curve levels off where the
# smoothing term, which also charges the photo's real edges, balances the content cost.

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for depth, history in histories.items():
    steps, costs = zip(*history, strict=True)
    ax.semilogy(steps, costs, label=f"{depth} ({LAYERS[depth]})")
edges = np.cumsum([0] + [steps for _, steps in SCHEDULE])
for (size, _), low, high in zip(SCHEDULE, edges[:-1], edges[1:], strict=True):
    ax.text((low + high) / 2, 0.6, f"at {size} px", color="gray", fontsize=8, ha="center")
    if low:
        ax.axvline(low + 0.5, color="gray", lw=0.8, ls="--")
ax.set(xlabel="L-BFGS step", ylabel="cost / cost at level start")
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %% [markdown]
# ## Step 5: why this network and not VGG-16
#
# The workbook also has VGG-16 offline (the network of HED, an edge detector fine-tuned from
# ImageNet VGG-16). Two measurements decided against it here. First, the arithmetic of one
# forward pass at our image size, up to the middle layer of each network (`count_flops` counts
# the multiply-adds of every convolution; a step also needs the backward pass, about as much
# again):

# %%
vgg = nst_utils.load_backbone("vgg16_hed")
spec = tf.TensorSpec((1, *content.shape))


def forward_gflops(net, layer):
    """GFLOP of one forward pass of ``net`` up to ``layer`` for an image of ``spec``'s shape."""
    extractor = nst_utils.feature_extractor(net, [layer])
    return nst_utils.count_flops(lambda x: extractor(x), spec)["total"] / 1e9


gflops = {
    "darknet": forward_gflops(backbone, LAYERS["middle"]),
    "vgg": forward_gflops(vgg, VGG_LAYER),
}
{name: round(value, 2) for name, value in gflops.items()}

# %% tags=["remove-input"]
workbook.prose.show(
    f"At {content.shape[1]}×{content.shape[0]} px, Darknet tiny needs {gflops['darknet']:.2f}"
    f" GFLOP to reach `{LAYERS['middle']}`; VGG-16 needs {gflops['vgg']:.1f} GFLOP to reach"
    f" `{VGG_LAYER}`, {gflops['vgg'] / gflops['darknet']:.0f} times as much. Second, what the"
    " two middle layers keep: here is VGG-16's reconstruction from its middle layer"
    f" ({VGG_SCHEDULE[0][1]} coarse and {VGG_SCHEDULE[-1][1]} fine steps, where Darknet had"
    f" {SCHEDULE[0][1]} and {SCHEDULE[-1][1]}), next to Darknet's."
)

# %%
timeline = []
vgg_image = nst_utils.reconstruct(
    content,
    content_layer=VGG_LAYER,
    schedule=VGG_SCHEDULE,
    tv_weight=TV_WEIGHT,
    backbone=vgg,
    callback=lambda info: timeline.append((info.level, info.seconds)),
    seed=0,
)
timelines["vgg"] = timeline
titles = ["photo", f"Darknet tiny: {LAYERS['middle']}", f"VGG-16 (HED): {VGG_LAYER}"]
nst_utils.show_images([content, reconstructions["middle"], vgg_image], titles, size=2.4)
plt.show()

# %% [markdown]
# VGG-16's middle layer gives back the edges (the river bank, the line of the hills, the outlines
# of the roofs) in a purple-pink wash that has lost the colours, and its deep layers keep even
# less. That fits the network's training: HED was fine-tuned to find edges, so its deep layers
# describe edges rather than the objects an ImageNet classifier must tell apart. Darknet's
# middle layer keeps the layout and more of the colours (the green of the trees, the blue-green
# water), at a fraction of the arithmetic.
# (With the course's ImageNet VGG-19, when it can be downloaded, the reconstructions look more
# like Darknet's, at even higher cost.)
#
# The time per step at full size on this machine (it depends on the CPU and its load):


# %%
def fine_ms_per_step(timeline):
    """Milliseconds per step at the last level, from ``(level, seconds)`` after each step."""
    last = [seconds for level, seconds in timeline if level == timeline[-1][0]]
    return 1000 * (last[-1] - last[0]) / (len(last) - 1)


# %%
# NBVAL_IGNORE_OUTPUT
for name, steps_and_times in timelines.items():
    print(f"{name:8s} {fine_ms_per_step(steps_and_times):6.0f} ms per step at {IMAGE_SIZE} px")

# %% [markdown]
# ## Summary
#
# * The content cost compares the activations of the content and the generated image at one
#   layer: $J_{content} = \frac{1}{4 n_H n_W n_C}\sum (a^{(C)} - a^{(G)})^2$.
# * A shallow layer keeps the pixels, so matching it would simply copy the photo; a deep layer
#   keeps only what is roughly where. Style transfer compares contents at the **middle** layer
#   (here `leaky_re_lu_8`; with VGG `block4_conv2`, as in Gatys et al.), so that the layout
#   survives while the brushwork is free to change.
# * Reconstruction from noise is a general tool to see what a layer encodes, and it tells
#   networks apart: an edge detector's middle layer keeps edges, a classifier's keeps more.
#
# ## Exercises
#
# 1. Reconstruct from `leaky_re_lu_6` and `leaky_re_lu_10`. Where does the colour get lost?
# 2. Set `TV_WEIGHT = 0` and compare the deep reconstruction. Why does the noise stay?
# 3. Shift the photo by 1, 4 and 16 pixels in Step 3. How does the ratio grow with the shift at
#    each layer, and how does that relate to the layer's receptive field?
# 4. Set `BACKBONE = "squeezenet_imagenet"` with the layers `conv1`, `fire3_concat` and
#    `fire5_concat`. Which of its layers washes out first?
