# %% [markdown]
# # What are deep ConvNets learning?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/06_what_convnets_learn.ipynb)
#
# Before we use a trained network's layers to transfer style (notebooks 07-09), we look inside
# one. Zeiler & Fergus (2013, *Visualizing and understanding convolutional networks*) ran many
# ImageNet images through a trained classifier and showed, for units of each layer, the nine
# image patches that excited the unit most. The lecture retells what they saw: edges and
# colours in layer 1, textures in layer 2, and in layers 4 and 5 whole objects such as dogs,
# keyboards and flowers. We redo the experiment with two small ImageNet networks and the
# course's ImageNet photos (one per class), and instead of describing each grid with an
# adjective we **measure** what its nine photos have in common.
#
# **You will**
# - meet an ImageNet classifier and its five best guesses for a few photos;
# - compute a unit's receptive field (exercise 1) and the input pixels it sees (exercise 3);
# - find the photos and positions where a unit fires hardest (exercise 2);
# - measure, depth by depth, how coherent the top-9 photos of the units are, against chance,
#   and pick the network that shows the lecture's point better;
# - look at the top-9 patches of units at five depths.
#
# **Prerequisites:** convolutions, padding, strides and pooling (the CNN course); NumPy.
# **Run time:** about a minute of CPU time on a 2-core laptop the first time (two networks over
# 1000 photos and their mirror images), seconds for that step afterwards (its results are
# cached on disk).

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
import numpy as np

from nst_utils.backbone import feature_extractor, load_backbone
from nst_utils.layers import coherence as coh
from nst_utils.layers.cache import cached_channel_maxima
from nst_utils.layers.imagenet_photos import load_imagenet_photos
from nst_utils.layers.plots import (
    filter_tiles,
    plot_activation_maps,
    plot_coherence,
    plot_filters,
    plot_predictions,
    plot_top_patches,
)
from nst_utils.layers.receptive_field import layer_fields, layer_specs
from nst_utils.layers.top_patches import channel_maxima, select_units, top_patches, top_photos
from nst_utils.models import darknet
from workbook.prose import show

# %% tags=["parameters"]
networks = ["darknet_tiny_imagenet", "squeezenet_imagenet"]  # measured side by side
n_photos = 1000  # ImageNet photos to probe with, one per class (fewer: a quick run)
image_size = 224  # side of every photo in pixels (both networks were trained at 224)
mirror = True  # also probe each photo's left-right mirror image
k = 9  # top photos per unit (the lecture's 3x3 grids)
min_depth = 9  # WordNet depth a group must reach to count (9: mammal, bird)
majority = 5  # a unit with this many of its k photos in one group is "mostly one group"
n_random_sets = 2000  # random 9-photo sets for the chance baseline
units_shown = 2  # per depth: this many most coherent units, and as many random ones
demo_classes = ["golden retriever", "computer keyboard", "daisy", "tabby"]
batch_size = 32  # photos per forward pass
seed = 0

# %% [markdown]
# ## The photos, and an ImageNet classifier
#
# ImageNet's training set has about a thousand photos of each of its 1000 classes; the course
# data holds one photo per class, 256×256 (`imagenet_samples`), which we resize to the
# networks' input size. Each comes with its class, a WordNet noun such as *golden retriever*.
# The photos' copyright stays with their photographers; ImageNet's terms allow their use for
# teaching and research (credits below, details in `imagenet_samples/SOURCES.md`).

# %%
photos = load_imagenet_photos(image_size, count=n_photos)
print(f"{len(photos)} photos of {image_size}x{image_size} px, e.g. {photos.labels[:4]}")
print(f"{photos.upscaled.sum()} of them were upscaled from smaller sources and look soft")
print(photos.credits)

# %% [markdown]
# Darknet tiny (from Joseph Redmon's Darknet reference models) is a small ImageNet
# classifier: 16 convolutions, then an average over positions and a softmax over the 1000
# classes. Before we open such a network up, here is what it does: the five classes it finds
# most probable for four of the photos, with the photo's own class as title.

# %%
demo = load_imagenet_photos(image_size, classes=demo_classes)
guesses = darknet.classify(demo.pixels, top=5)
fig = plot_predictions(demo.pixels, guesses, titles=[f"class: {c}" for c in demo.labels])
print(demo.credits)

# %% tags=["remove-input"]
ranks = [[p.wnid for p in g].index(w) + 1 if w in [p.wnid for p in g] else None
         for g, w in zip(guesses, demo.wnids, strict=True)]  # fmt: skip
show(
    f"Its first guess is the photo's class for {ranks.count(1)} of these {len(demo)} photos,"
    f" and the class is among its five guesses for {len(ranks) - ranks.count(None)}. Look at"
    " the other guesses: mostly classes that look alike, such as other dog breeds or other cats."
    " Such classes share features, and below we find units that respond to what they share."
)

# %% [markdown]
# ## Two small ImageNet networks
#
# We compare two networks trained on ImageNet's 1000 classes, both small enough for a laptop
# CPU: **Darknet tiny**, the classifier above, which alternates 3×3 convolutions with 1×1
# convolutions that squeeze the channels and halves the resolution four times with 2×2
# poolings; and **SqueezeNet 1.1** (Iandola et al., 2016), built from *fire modules* (a 1×1
# squeeze, then 1×1 and 3×3 expand branches side by side), which matches AlexNet's accuracy,
# the network of the lecture. The course has SqueezeNet's feature layers only, not its
# classifier layer. For each network we look at five depths: the last layer at each
# resolution.

# %%
backbones = {name: load_backbone(name) for name in networks}
fields = {name: layer_fields(backbone) for name, backbone in backbones.items()}
zeros = np.zeros((1, image_size, image_size, 3), np.float32)
for name, net in backbones.items():
    grids = feature_extractor(net, net.depth_layers)(net.preprocess(zeros))
    print(f"{name}: {net.model.count_params():,} parameters, {len(net.conv_layers)} convolutions")
    for depth, layer in enumerate(net.depth_layers, start=1):
        f, (_, n_h, n_w, n_c) = fields[name][layer], grids[layer].shape
        grid = f"grid {n_h:3d}x{n_w:<3d} {n_c:4d} channels"
        print(f"  depth {depth}: {layer:15s} {grid}  field {f.size:3d} px  jump {f.jump:2d}")

# %% [markdown]
# ## Receptive fields
#
# A unit of layer $l$ depends on a square of input pixels, its *receptive field*, of side
# $r_l$. A $k \times k$ convolution over layer $l-1$ sees $k$ neighbouring units of that layer,
# and neighbouring units of layer $l-1$ are $j_{l-1}$ input pixels apart, where the *jump*
# $j_{l-1}$ is the product of the strides so far. So each layer widens the field by
# $(k_l - 1)$ steps of $j_{l-1}$ pixels:
#
# $$r_0 = 1,\quad j_0 = 1, \qquad r_l = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l .$$
#
# By hand for Darknet's start: a 3×3 convolution gives $r = 1 + 2 = 3$; the 2×2 pooling with
# stride 2 gives $3 + 1 = 4$ and doubles the jump; the next 3×3 convolution adds $2 \times 2$:
# $r = 8$. Padding does not change the size, only where the field starts: unit $i$ sees input
# pixels $\text{start}_l + i\, j_l$ to $\text{start}_l + i\, j_l + r_l - 1$, with
# $\text{start}_l = \text{start}_{l-1} - p_l\, j_{l-1}$ for $p_l$ padding pixels (negative:
# part of the field lies in the zero padding around the image). SqueezeNet's fire modules
# branch; a concatenated fire output sees what its 3×3 branch sees, the longer path. The table
# above lists the fields `layer_fields()` computes this way.

# %% tags=["remove-input"]
deep = {name: fields[name][backbones[name].depth_layers[-1]].size for name in networks}
show(
    "A unit at depth 5 sees "
    + " and ".join(f"{size}×{size} px in {name}" for name, size in deep.items())
    + f", of a {image_size}-pixel photo: an object, not just an edge; a depth-1 unit sees"
    f" {fields[networks[0]][backbones[networks[0]].depth_layers[0]].size} px."
)

# %% [markdown]
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
# Darknet's first convolution, its pooling and the next convolution: the answer should be 8.
# Then SqueezeNet's `conv1` (3×3, stride 2) and `pool1` (3×3, stride 2), then `fire2`'s
# squeeze 1×1 and expand 3×3: compare with its `fire2` field in the table above.

# %%
print(receptive_field_size([(3, 1), (2, 2), (3, 1)]))
print(receptive_field_size([(3, 2), (3, 2), (1, 1), (3, 1)]))

# %% nbgrader={"grade": true, "grade_id": "check_receptive_field_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that receptive_field_size() multiplies each (k - 1) by the accumulated stride."""
from nst_utils.checks.nb06 import check_receptive_field_size

check_receptive_field_size(receptive_field_size)
### BEGIN HIDDEN TESTS
_fire = [(1, 1), (3, 1)]  # SqueezeNet's longest path: conv1, pool1, fire2-3, pool3, ...
_squeezenet = [(3, 2), (3, 2)] + _fire * 2 + [(3, 2)] + _fire * 2 + [(3, 2)] + _fire * 4
assert receptive_field_size(_squeezenet) == 207, "SqueezeNet 1.1 fire9 sees 207 x 207 pixels"
_darknet = [(3, 1), (2, 2), (3, 1), (2, 2)] + [(1, 1), (3, 1)] * 2 + [(2, 2)]
_darknet += [(1, 1), (3, 1)] * 2 + [(2, 2)] + [(1, 1), (3, 1)] * 2 + [(1, 1)]
assert receptive_field_size(_darknet) == 134, "Darknet tiny conv2d_15 sees 134 x 134 pixels"
assert receptive_field_size([]) == 1, "an empty stack: a pixel sees itself"
assert receptive_field_size([(11, 4), (3, 2), (5, 1)]) == 11 + 2 * 4 + 4 * 8, "AlexNet-like"
### END HIDDEN TESTS

# %% [markdown]
# ## Activation maps
#
# Each channel of a layer is a map of where its filter matches: the same filter slides over
# every position, so a layer of $n_C$ channels on an $n_H \times n_W$ grid holds $n_C$ maps.
# Here is one photo through Darknet, and at three depths the two channels whose maps vary
# most (largest standard deviation over the grid); each title gives the layer, the channel and
# the grid size. The maps get coarser with depth while each cell sees more of the photo.

# %%
dark = load_backbone("darknet_tiny_imagenet")  # the classifier we met (built once per process)
shown = [dark.depth_layers[i] for i in (0, 2, 4)]
activations = feature_extractor(dark, shown)(dark.preprocess(demo.pixels[:1]))
spread = {name: np.asarray(maps)[0].std(axis=(0, 1)) for name, maps in activations.items()}
varied = {name: np.argsort(-s)[:2] for name, s in spread.items()}
fig = plot_activation_maps(demo.pixels[0], activations, varied)

# %% [markdown]
# ---
# ## Exercise 2: where does a unit fire hardest? (2 points)
#
# To find a unit's top patches we run many photos through the network and, for its channel,
# keep each photo's strongest position. Implement `top_k_positions(activations, unit, k)`:
# `activations` has shape `(N, n_H, n_W, n_C)` for $N$ photos; return the `k` photos where
# channel `unit` reaches its highest values, strongest first, as `(photo, row, col)` triples
# giving each photo's strongest position. One triple per photo: a photo whose strongest patch
# already counts must not come back with its second strongest (Zeiler & Fergus show nine
# different images). Classic mistakes: ranking all positions of all photos together (the same
# photo twice), taking the maximum over the channel axis, and turning a flat index into a row
# and column with the height instead of the width.


# %% nbgrader={"grade": false, "grade_id": "ex_top_k_positions", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_k_positions(activations, unit, k):
    """The k photos where channel `unit` fires hardest, with each one's strongest position.

    Args:
        activations: (N, n_H, n_W, n_C) array, a layer's activations for N photos.
        unit: channel index.
        k: how many photos.

    Returns:
        list of k (photo, row, col) tuples of ints, strongest photo first.
    """
    ### BEGIN SOLUTION
    maps = activations[..., unit]  # (N, n_H, n_W)
    flat = maps.reshape(len(maps), -1)
    best = flat.argmax(axis=1)  # each photo's strongest position
    photos_first = np.argsort(-flat.max(axis=1), kind="stable")[:k]
    width = maps.shape[2]
    return [(int(p), int(best[p] // width), int(best[p] % width)) for p in photos_first]
    ### END SOLUTION


# %% [markdown]
# Your function on Darknet's depth-5 maps of 16 photos, against the library's one-pass version
# (`channel_maxima` keeps each photo's maximum and where it occurs, `top_photos` ranks them):

# %%
layer = dark.depth_layers[-1]
sample = photos.pixels[:: max(1, len(photos) // 16)][:16]
maps = np.asarray(feature_extractor(dark, [layer])(dark.preprocess(sample))[layer])
yours = top_k_positions(maps, unit=5, k=3)
ref = channel_maxima(dark, sample, [layer])[layer]
library = [(int(p), int(ref.rows[p, 5]), int(ref.cols[p, 5])) for p in top_photos(ref, [5], 3)[0]]
print("yours:  ", yours, "\nlibrary:", library, "\nagree:", yours == library)

# %% nbgrader={"grade": true, "grade_id": "check_top_k_positions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check top_k_positions(): one position per photo, the unit's channel, rows and columns."""
from nst_utils.checks.nb06 import check_top_k_positions

check_top_k_positions(top_k_positions)
### BEGIN HIDDEN TESTS
_maps = np.zeros((3, 2, 4, 2), np.float32)
_maps[1, 1, 3, 1], _maps[1, 0, 0, 1], _maps[2, 0, 2, 1] = 5.0, 4.0, 3.0
assert [tuple(t) for t in top_k_positions(_maps, 1, 2)] == [(1, 1, 3), (2, 0, 2)]
### END HIDDEN TESTS

# %% [markdown]
# ---
# ## Exercise 3: which input pixels does a unit see? (2 points)
#
# A winning position is a cell of the layer's grid; the patch we show is the part of the photo
# that cell sees. Implement `input_window(index, layers)`: `layers` is the stack as
# `(kernel, stride, padding)` triples, input side first; return `(first, stop)`, the input
# pixels `first, ..., stop - 1` that unit `index` of the last layer sees along one axis (the
# same rule applies to rows and columns), with the recurrences for $r$, $j$ and start above.
# `first` may be negative (the field reaches into the padding); `stop` is excluded, as in
# Python slices. Classic mistakes: forgetting the padding, scaling it by the jump *after* the
# layer's stride, and an off-by-one stop.


# %% nbgrader={"grade": false, "grade_id": "ex_input_window", "locked": false, "schema_version": 3, "solution": true, "task": false}
def input_window(index, layers):
    """Input pixels seen by unit `index` of the last layer of a stack, along one axis.

    Args:
        index: the unit's row (or column) in the last layer's grid.
        layers: list of (kernel, stride, padding) triples, input side first.

    Returns:
        (first, stop): the unit sees input pixels first, ..., stop - 1.
    """
    ### BEGIN SOLUTION
    size, jump, start = 1, 1, 0
    for kernel, stride, padding in layers:
        size += (kernel - 1) * jump
        start -= padding * jump
        jump *= stride
    first = start + index * jump
    return first, first + size
    ### END SOLUTION


# %% [markdown]
# Darknet's whole chain up to depth 5 (read from the Keras layers), for the unit in row 3 of its
# grid, against the library's receptive field:

# %%
chain = [(s.kernel, s.stride, s.padding) for s in layer_specs(dark.model, up_to="conv2d_15")]
print("yours:  ", input_window(3, chain))
print("library:", layer_fields(dark)["leaky_re_lu_15"].span(3))

# %% nbgrader={"grade": true, "grade_id": "check_input_window", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check input_window(): padding scaled by the jump before each layer, spacing by the jump."""
from nst_utils.checks.nb06 import check_input_window

check_input_window(input_window)
### BEGIN HIDDEN TESTS
assert tuple(input_window(0, [])) == (0, 1), "no layers: unit 0 is pixel 0"
assert tuple(input_window(2, [(3, 2, 0), (3, 2, 0)])) == (8, 15), "SqueezeNet conv1 + pool1"
### END HIDDEN TESTS

# %% [markdown]
# ## One pass over the photos and their mirror images
#
# Now the experiment itself. `cached_channel_maxima()` runs each network over all photos in
# batches and keeps, for every photo and every channel of the five depths, only the largest
# activation and where it occurs (what your `top_k_positions` needs, without storing the
# maps). It also runs each photo's mirror image and keeps the stronger of the two views, so a
# photo counts once. The result is cached on disk, so running the notebook again is fast.

# %%
# NBVAL_IGNORE_OUTPUT
maxima = {}
for name, net in backbones.items():
    maxima[name] = cached_channel_maxima(
        net, photos.pixels, net.depth_layers, batch_size, mirror=mirror, report=True
    )

# %% [markdown]
# ## How coherent are a unit's top-9 photos?
#
# Every photo has a class, and every ImageNet class is a WordNet noun, placed in a hierarchy:
# *golden retriever* is a *retriever*, a *dog*, a *canine*, a *carnivore*, a *placental
# mammal*, a *mammal*, ..., an *entity*. For one unit we take the classes of its top-9 photos
# and find their **largest group**: the WordNet noun, at least `min_depth` levels below
# *entity*, that covers most of them. Its share of the nine photos is the unit's
# **coherence**: 9/9 when all are dogs, 1/9 when no two photos share anything that specific.
# (Depths for a feel: *animal* 6, *vehicle* 7, *mammal* and *bird* 9, *carnivore* and *car*
# 11, *dog* 13.) The baseline is the same measure on random sets of 9 photos. We use each
# photo's own ImageNet class rather than the classifier's guesses: the deepest layers produce
# those guesses, so measuring them with the guesses would flatter them.

# %%
coherence = {}
for name, net in backbones.items():
    layers = [maxima[name][layer] for layer in net.depth_layers]
    coherence[name] = [coh.layer_coherence(m, photos.wnids, k, min_depth) for m in layers]
chance = coh.chance_coherence(photos.wnids, k, min_depth, n_random_sets, seed)
at_chance, majority_by_chance = chance.mean(), np.mean(chance >= majority / k)
for name, layers in coherence.items():
    print(name)
    for depth, c in enumerate(layers, start=1):
        units = f"{len(c.units):3d}/{c.n_channels} firing units"
        print(f"  depth {depth} {c.layer:15s} {units}, coherence {c.mean:.2f},"
              f" {np.mean(c.counts >= majority):4.0%} with {majority}+ of {k}")  # fmt: skip
print(
    f"random sets of {k} photos: coherence {at_chance:.2f}, {majority_by_chance:.1%} with {majority}+"
)

# %%
curves = {}
for name, net in backbones.items():
    curves[name] = ([fields[name][layer].size for layer in net.depth_layers], coherence[name])
fig = plot_coherence(curves, chance, image_size, majority)

# %% tags=["remove-input"]
object_depths = {name: np.mean([c.mean for c in layers[3:]]) for name, layers in coherence.items()}
chosen = max(object_depths, key=object_depths.get)
other = next(name for name in networks if name != chosen)
shallow = {name: layers[0].mean for name, layers in coherence.items()}
last = {name: layers[-1].mean for name, layers in coherence.items()}
than = "no more coherent than" if max(shallow.values()) <= at_chance else "about as coherent as"
show(
    f"At depth 1 the units' top photos are {than} random photos ({shallow[chosen]:.2f} and"
    f" {shallow[other]:.2f}, chance {at_chance:.2f}): a few pixels of colour or edge say nothing"
    f" about the class. The lecture's object layers are 4 and 5; there `{chosen}` is the more"
    f" coherent on average ({object_depths[chosen]:.2f} against {object_depths[other]:.2f} for"
    f" `{other}`), so it is the network we open below. At depth 5 alone the two read"
    f" {last[chosen]:.2f} and {last[other]:.2f}; at depth 4 their units see"
    f" {curves[chosen][0][3]} and {curves[other][0][3]} px of the {image_size}-px photo."
)

# %% [markdown]
# ## Inside the chosen network
#
# **Layer 1 filters.** The first convolution's filters are 3×3×3, small enough to look at as
# colour images (each stretched to its own range; a network that reads BGR, as SqueezeNet does,
# has its filters flipped to RGB). Look for filters of one colour (colour detectors) and for filters with a
# dark side and a bright side (edges in some direction). The lecture's AlexNet has 11×11
# filters, where the stripes are easier to see.

# %%
net = backbones[chosen]
kernel = net.model.get_layer(net.conv_layers[0]).get_weights()[0]
tiles = filter_tiles(kernel, bgr_input=net.mean_bgr is not None)
fig = plot_filters(tiles, cols=16, title=f"{chosen} {net.conv_layers[0]}: {len(tiles)} filters")

# %% [markdown]
# **Top-9 patches.** For each depth we show two rows of units, chosen by a fixed rule, not by
# hand: the `units_shown` units with the most coherent top-9 photos (ties: the lower index), and
# `units_shown` units drawn at random (seeded) among the units that fire on at least 9 photos,
# typical units as in the paper. Each 3×3 mosaic is one unit's top-9 patches, strongest first
# (row by row), cropped to its receptive field (clipped at the photo's border, so border
# patches are smaller); a patch from a mirror image is shown mirrored. Under each mosaic: the
# unit's channel, its largest WordNet group and how many of the nine photos it covers.


# %%
def show_depth(depth, tile=48):
    """The measured facts and the mosaics of one depth of the chosen network."""
    c, layer = coherence[chosen][depth - 1], net.depth_layers[depth - 1]
    chosen_maxima = maxima[chosen][layer]
    picks = [coh.most_coherent(c, units_shown), select_units(chosen_maxima, units_shown, k, seed)]
    rows = [top_patches(chosen_maxima, photos.pixels, units, k) for units in picks]
    captions = [[c.caption(unit) for unit in units] for units in picks]
    common = ", ".join(f"{name} ({units})" for name, units in c.common_groups(majority))
    show(
        f"**Depth {depth}** (`{layer}`, field {fields[chosen][layer].size} px): coherence"
        f" {c.mean:.2f} (chance {at_chance:.2f}); {np.mean(c.counts >= majority):.0%} of its"
        f" {len(c.units)} units have {majority} or more of their {k} photos in one group (random sets:"
        f" {majority_by_chance:.1%}){': ' + common if common else ''}."
    )
    title = f"{chosen}, depth {depth}: {layer}, receptive field {fields[chosen][layer].size} px"
    return plot_top_patches(rows, captions, tile, ["most coherent", "random"], title)


# %% [markdown]
# **Depth 1.** Each patch is a few pixels, enlarged pixel by pixel: a unit can only respond to a
# colour or to a pattern of dark and bright pixels, an edge in some direction. Look for mosaics
# whose nine patches share one colour or one edge direction (as in the lecture's first panel),
# and compare them with the filters above.

# %%
fig = show_depth(1)

# %% [markdown]
# **Depth 2.** Look for combinations of edges and colours: corners, stripes, small textures.

# %%
fig = show_depth(2)

# %% [markdown]
# **Depth 3.** Look for textures and repeated patterns, curved contours, parts of objects.

# %%
fig = show_depth(3)

# %% [markdown]
# **Depth 4.** Compare the coherent mosaics with the random ones: do the random units also
# agree on a kind of object, or on a part of one?

# %%
fig = show_depth(4)

# %% [markdown]
# **Depth 5.** The last layer at the coarsest resolution.

# %%
fig = show_depth(5)

# %% [markdown]
# ## The lecture's objects: dogs, keyboards, flowers, faces
#
# The lecture points at a dog detector in layer 4 and, in layer 5, more varied dogs, keyboards,
# text and flowers. Our photos let us look for these objects by their WordNet groups: for each
# group and depth, the unit whose top-9 photos hold most photos of the group. Dogs are a large
# group of ImageNet classes; keyboards and flowers have two classes each here (one photo per
# class), and people three (ballplayer, groom, scuba diver). ImageNet has no *face* class, so
# faces only show in the mosaics, not in the counts.

# %%
objects = {
    "dog": "n02084071",
    "keyboard": "n03614007",
    "flower": "n11669921",
    "person": "n00007846",
}
members = {obj: coh.group_members(photos.wnids, wnid) for obj, wnid in objects.items()}
finds, table = {}, ["| network | group (photos) | depth 1 | 2 | 3 | 4 | 5 |", "|---" * 7 + "|"]
for name, net in backbones.items():
    for obj, marked in members.items():
        layers = [maxima[name][layer] for layer in net.depth_layers]
        finds[name, obj] = [coh.best_unit_for(m, marked, k) for m in layers]
        counts = " | ".join(str(count) for _, count in finds[name, obj])
        table.append(f"| {name} | {obj} ({marked.sum()}) | {counts} |")
show(f"Most photos of each group among one unit's top {k}, per depth:\n\n" + "\n".join(table))

# %% tags=["remove-input"]
one = k / len(photos)
both = one * (k - 1) / (len(photos) - 1)
units_5 = len(coherence[chosen][-1].units)
deep_best = {
    (name, obj): max(n for _, n in finds[name, obj][3:]) for name in networks for obj in objects
}
show(
    f"A given photo is among a unit's top {k} by chance with probability {one:.1%}, and both"
    f" photos of a two-class group with probability {both:.4%}: in a layer of {units_5} units,"
    f" {units_5 * both:.2f} such units are expected by chance. So a unit whose top {k} hold both"
    " keyboards or both flowers is no accident, while one photo of a small group is. Below are the"
    f" chosen network's depth-5 units picked that way, one per group whose best unit holds two"
    " or more of its photos: look at what else those units respond to. At depths 4 and 5 the"
    f" best keyboard and flower units of `{chosen}` hold {deep_best[chosen, 'keyboard']} and"
    f" {deep_best[chosen, 'flower']} of the two photos, those of `{other}`"
    f" {deep_best[other, 'keyboard']} and {deep_best[other, 'flower']}."
)

# %%
layer = net.depth_layers[-1]
picked = {obj: finds[chosen, obj][-1] for obj in objects if finds[chosen, obj][-1][1] >= 2}
captions = [
    f"unit {u}: {n} of the\n{members[obj].sum()} {obj} photos" for obj, (u, n) in picked.items()
]
if picked:  # (a quick run with few photos may have no such unit)
    top = top_patches(maxima[chosen][layer], photos.pixels, [u for u, _ in picked.values()], k)
    fig = plot_top_patches([top], [captions], tile=48, title=f"{chosen}, depth 5 ({layer})")

# %% [markdown]
# ## Summary
#
# - A unit of layer $l$ sees an $r_l \times r_l$ window of the input, with
#   $r_l = r_{l-1} + (k_l - 1) j_{l-1}$; strides multiply into the jump $j$, so the fields
#   grow from a few pixels to most of the photo.
# - A unit's top patches take one pass over many photos: keep each channel's maximum per photo
#   and where it occurs, rank the photos, and crop the receptive field around each winner.
# - What the top photos share can be measured: with WordNet classes and a chance baseline,
#   the top photos of shallow units are no more alike than random photos (colours, edges and
#   textures occur in every class), and coherence appears where the fields cover objects, as
#   the lecture says for layers 4 and 5.
# - The measure only sees what ImageNet's labels name: units for faces or text, which the
#   lecture also shows, have no class to be counted with.
#
# These features are what neural style transfer measures: shallow layers for colours and
# brushstrokes, deep layers for content (notebooks 07-09).
#
# ## What to try next
#
# 1. Set `min_depth = 13` (the level of *dog*) or `7`: which depths change most against
#    chance?
# 2. Set `mirror = False`: do the top photos change? How many top patches came from a mirror
#    image (`maxima[chosen][layer].mirrored`)?
# 3. Compute by hand the receptive field of SqueezeNet's `fire5_concat` (use its longest path),
#    then check it in the table. How many pixels apart are neighbouring units?
# 4. Look up the photos behind a mosaic: `photos.labels[i]` for `i` in
#    `top_photos(maxima[chosen][layer], [unit], k)[0]`.
