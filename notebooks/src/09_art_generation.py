# %% [markdown]
# # Neural style transfer 3: art generation
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/09_art_generation.ipynb)
#
# Notebooks 07 and 08 built the two halves of the cost. Here we combine them,
#
# $$J(G) = \alpha \, J_{content}(C, G) + \beta \, J_{style}(S, G),$$
#
# and minimise $J$ over the pixels of $G$ while the network stays frozen (Gatys et al.). Then we
# meet the other way to make such pictures: a network *trained* to do this optimisation's job in
# one forward pass (fast style transfer).
#
# **You will** implement the multi-layer style cost, the total cost and one step of the
# optimisation loop; compare three feature networks given the same CPU time and pick this
# notebook's network from the result; put Gatys' optimisation and the fast network side by side;
# see that only the ratio $\beta / \alpha$ matters; watch $G$ emerge from noise (an animated
# GIF); make a print-sized result coarse to fine; and play with a live panel.
#
# **Prerequisites:** notebooks 07 and 08. **Run time:** about 4 minutes on a 2-core CPU with the
# settings below.

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
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from PIL import Image

import nst_utils
from nst_utils import compare
from nst_utils.art_panel import fast_panel, show_jpeg
from nst_utils.checks.nb09 import check_compute_style_cost, check_total_cost, check_train_step
from workbook import data_path
from workbook.prose import show

# %% tags=["parameters"]
BACKBONE = "squeezenet_imagenet"  # this notebook's network, chosen by the comparison of Step 4
IMAGE_SIZE = 256  # pixels on the long side of every generated image
RATIO = 100.0  # beta/alpha in balanced units (Step 2): more is more paint
LOOP_STEPS = 10  # steps of your Adam loop, and of L-BFGS next to it (Step 3)
CPU_SECONDS = 4.0  # CPU time each network gets for each pair in Step 4
STEPS = 60  # L-BFGS steps of each picture of Step 5
NOISE_SCHEDULE = [(128, 60), (256, 40)]  # Step 6: from noise, coarse to fine
NOISE_RATIO = 0.1  # less style from noise, so the content term can draw the layout back
SCHEDULE = [(128, 60), (256, 30), (512, 15)]  # coarse to fine, (size, steps): Step 7's print
ALPHA, BETA = 10.0, 40.0  # the course's weights, chosen for VGG's activations
OUTPUT_DIR = Path("outputs")  # where the animation and the print are saved
# Content photos are CC BY or public domain, so the stylised results may be shared with credit.
PAIRS = [
    ("photos/bern_from_north.jpg", "art/starry_night.jpg"),
    ("photos/plaigne_countryside.jpg", "art/great_wave_off_kanagawa.jpg"),
    ("photos/mars_valles_marineris_nasa.jpg", "art/composition_vii.jpg"),
]
OUTPUT_DIR.mkdir(exist_ok=True)


# %% [markdown]
# ## Step 1: the style cost over several layers
#
# One layer captures texture at one scale (notebook 08). We combine several layers with weights
# $\lambda^{[l]}$, given as `(layer_name, weight)` pairs:
#
# $$J_{style}(S, G) = \sum_{l} \lambda^{[l]} \, J^{[l]}_{style}(S, G).$$
#
# ## Exercise 1: compute_style_cost (2 points)
#
# `style_outputs` and `generated_outputs` are dicts `{layer_name: activation}` (what
# `feature_extractor` returns). Loop over `style_layers` and use `nst_utils.compute_layer_style_cost`
# (the function of notebook 08).


# %% nbgrader={"grade": false, "grade_id": "ex_compute_style_cost", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compute_style_cost(style_outputs, generated_outputs, style_layers):
    """Weighted style cost over several layers.

    Args:
        style_outputs: dict {layer_name: activation of the style image}.
        generated_outputs: dict {layer_name: activation of the generated image}.
        style_layers: list of (layer_name, weight) pairs.

    Returns:
        J_style, a scalar tensor.
    """
    ### BEGIN SOLUTION
    J_style = 0.0
    for layer_name, weight in style_layers:
        a_S, a_G = style_outputs[layer_name], generated_outputs[layer_name]
        J_style += weight * nst_utils.compute_layer_style_cost(a_S, a_G)
    return J_style
    ### END SOLUTION


# %% [markdown]
# A hand check: one layer with $a^{(S)}$ of ones, shape $(1, 1, 2, 1)$, and $a^{(G)} = 0$ has
# $J^{[l]}_{style} = 0.25$ (notebook 08); with weight $0.4$ you should get $0.1$.

# %%
ones, zeros = np.ones((1, 1, 2, 1), np.float32), np.zeros((1, 1, 2, 1), np.float32)
float(compute_style_cost({"conv": ones}, {"conv": zeros}, [("conv", 0.4)]))

# %% nbgrader={"grade": true, "grade_id": "check_compute_style_cost", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"Check that compute_style_cost sums weight * J_style_layer over the listed layers only"
check_compute_style_cost(compute_style_cost)


# %% [markdown]
# ## Exercise 2: total_cost (1 point)
#
# $J = \alpha J_{content} + \beta J_{style}$ with the course's defaults $\alpha = 10$, $\beta = 40$.
# For $J_{content} = 1.5$ and $J_{style} = 0.25$ you should get $15 + 10 = 25$.


# %% nbgrader={"grade": false, "grade_id": "ex_total_cost", "locked": false, "schema_version": 3, "solution": true, "task": false}
def total_cost(J_content, J_style, alpha=10, beta=40):
    """Total cost J = alpha * J_content + beta * J_style."""
    ### BEGIN SOLUTION
    return alpha * J_content + beta * J_style
    ### END SOLUTION


# %%
total_cost(1.5, 0.25)

# %% nbgrader={"grade": true, "grade_id": "check_total_cost", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"Check that total_cost weighs J_content by alpha and J_style by beta, with defaults 10 and 40"
check_total_cost(total_cost)
### BEGIN HIDDEN TESTS
assert total_cost(2.0, 3.0, alpha=0.5, beta=2.0) == 7.0
assert total_cost(0.0, 1.0) == 40
### END HIDDEN TESTS

# %% [markdown]
# ## Step 2: the network, the targets, and weights on one scale
#
# The first pair: a photo of Bern and *The Starry Night*. The style image may have another size
# and aspect ratio than the content image: Gram matrices sum over positions. The network is
# SqueezeNet (ImageNet features, the network of Stanford's CS231n style-transfer assignment);
# Step 4 shows why it, and not VGG-16, is this notebook's choice. Each network suggests its
# content layer and style layers (one per resolution, as the course's `blockN_conv1` of VGG).

# %%
content_name, style_name = PAIRS[0]
content = nst_utils.load_float_image(data_path(content_name), size=IMAGE_SIZE)
style = nst_utils.load_float_image(data_path(style_name), size=IMAGE_SIZE)
backbone = nst_utils.load_backbone(BACKBONE)
content_layer, style_layers = compare.backbone_layers(backbone)
print(nst_utils.credits(content_name, style_name))
content.shape, style.shape, content_layer, [name for name, _ in style_layers]

# %% [markdown]
# One extractor returns the content layer and every style layer in a single forward pass. The
# activations of $C$ and $S$ never change, so we compute them once, before the loop.

# %%
extractor = nst_utils.feature_extractor(backbone, style_layers, content_layer)
content_targets = extractor([backbone.preprocess(content[None])])
style_targets = extractor([backbone.preprocess(style[None])])
sorted(content_targets)

# %% [markdown]
# **Weights on one scale.** The course's $\alpha = 10, \beta = 40$ were chosen for VGG, whose
# activations are in pixel units; another network's costs have other scales. So we *balance*
# them: $\alpha$ makes the content term 1 when $G$ is the painting (nothing of the photo kept),
# $\beta$ makes the style term `RATIO` when $G$ is the photo (no style taken). Then one ratio
# means the same on every network.

# %%
alpha, beta = compare.balanced_weights(
    backbone, data_path(content_name), data_path(style_name), size=IMAGE_SIZE, ratio=RATIO
)
vgg_alpha, vgg_beta = compare.balanced_weights(
    "vgg16_hed", data_path(content_name), data_path(style_name), size=IMAGE_SIZE
)
show(
    f"Balanced weights for this pair on SqueezeNet: $\\alpha$ = {alpha:.3g}, $\\beta$ = {beta:.3g}."
    f" On VGG-16, the course's $\\beta / \\alpha$ = {BETA / ALPHA:g} is"
    f" {BETA / ALPHA * vgg_alpha / vgg_beta:.3g} in balanced units: its style term, thousands of"
    " times larger than the content term, paints over almost all of the photo."
)

# %% [markdown]
# ## Step 3: the optimisation loop
#
# The generated image $G$ is a `tf.Variable` holding the network's input (preprocessed pixels)
# and starts as the content photo. One step of the loop:
#
# 1. computes the activations of $G$ and the cost $J$ **under a `tf.GradientTape`**, so the
#    tape records how $J$ depends on the pixels;
# 2. takes the gradient $\partial J / \partial G$ (of the *pixels*: the network stays frozen);
# 3. lets the optimizer (Adam) update $G$;
# 4. clips $G$ back to the range of valid pixels, `[low, high]` in the network's input units.
#
# ## Exercise 3: train_step (3 points)
#
# `cost_of(outputs)` turns the activations of $G$ (a dict, as `extractor` returns) into $J$;
# return the $J$ computed under the tape (the cost of the image before this step's update).


# %% nbgrader={"grade": false, "grade_id": "ex_train_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_step(generated, optimizer, extractor, cost_of, low, high):
    """One optimisation step on the pixels of the generated image.

    Args:
        generated: tf.Variable (1, H, W, 3), the network's input for G.
        optimizer: a Keras optimizer, e.g. Adam.
        extractor: model mapping an image to {layer_name: activation}.
        cost_of: function mapping those activations to the total cost J.
        low, high: the valid range of generated (per channel).

    Returns:
        J, the cost of generated before the update (a scalar tensor).
    """
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        J = cost_of(extractor(generated))
    grad = tape.gradient(J, generated)
    optimizer.apply_gradients([(grad, generated)])
    generated.assign(tf.clip_by_value(generated, low, high))
    return J
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_train_step", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
"Check train_step: the gradient of the pixels, applied, clipped, with J recomputed at every step"
check_train_step(train_step)

# %% [markdown]
# Now the real thing: the cost of the first pair with the balanced weights, and Adam with a
# step of a few pixel units. We record $J$ at every step, the first one included.


# %%
def cost_of(outputs):
    J_content = nst_utils.compute_content_cost(
        content_targets[content_layer], outputs[content_layer]
    )
    J_style = compute_style_cost(style_targets, outputs, style_layers)
    return total_cost(J_content, J_style, alpha=alpha, beta=beta)


generated = tf.Variable(backbone.preprocess(content[None]))
optimizer = tf.keras.optimizers.Adam(learning_rate=4.0)  # in pixel units (0..255)
low, high = backbone.input_bounds()
step = tf.function(train_step)
adam_costs = [
    float(step(generated, optimizer, extractor, cost_of, low, high)) for _ in range(LOOP_STEPS)
]
adam_image = nst_utils.to_uint8(backbone.deprocess(generated)[0])
print("the cost fell at every step:", all(np.diff(adam_costs) < 0))

# %% [markdown]
# `nst_utils.stylize` does the same optimisation with L-BFGS, a quasi-Newton method that builds a
# picture of the cost's curvature from recent gradients; each step costs the same forward and
# backward pass, but it gets much further in as many steps.

# %%
recorder = nst_utils.FrameRecorder()
lbfgs_image = nst_utils.stylize(
    content,
    style,
    size=IMAGE_SIZE,
    steps=LOOP_STEPS,
    alpha=alpha,
    beta=beta,
    backbone=backbone,
    content_layer=content_layer,
    style_layers=style_layers,
    callback=recorder,
    progress=False,
)
show(
    f"After {LOOP_STEPS} steps each, $J$ is {adam_costs[-1]:.3g} with Adam and"
    f" {recorder.costs[-1][1]:.3g} with L-BFGS, from {adam_costs[0]:.3g} at the photo."
)

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.semilogy(range(1, LOOP_STEPS + 1), adam_costs, "o-", label="Adam (your train_step)")
ax.semilogy(*zip(*recorder.costs, strict=True), "s-", label="L-BFGS (stylize)")
ax.set(xlabel="step (one forward and backward pass each)", ylabel="total cost J (log scale)")
ax.set_title("Both start at the photo; every step is plotted")
ax.legend()
plt.show()

# %%
show_jpeg(
    nst_utils.show_images(
        [adam_image, lbfgs_image],
        [f"Adam, {LOOP_STEPS} steps", f"L-BFGS, {LOOP_STEPS} steps"],
        size=2.6,
    )
)
print(nst_utils.credits(content_name, style_name))

# %% [markdown]
# ## Step 4: which network? Three backbones at equal CPU time, and the fast network
#
# Gatys et al. used VGG-19; this workbook has three offline feature networks: VGG-16 (the
# weights of HED, fine-tuned from ImageNet to detect edges), SqueezeNet 1.1 and Darknet's
# *tiny* classifier (both ImageNet). A VGG step is far more arithmetic than a step of the small
# networks, so "the same number of steps" would favour VGG. We give each network **the same
# seconds of CPU time** per pair (`CPU_SECONDS`, measured as this process's CPU time, which does
# not depend on what else runs on the machine), its own suggested layers and the balanced
# weights with the same ratio.
#
# **Fast style transfer** (Ghiasi et al. 2017, Magenta's arbitrary image stylization) takes
# the other road: instead of optimising the pixels for each new pair, a *transfer network* was
# trained, on many photos and paintings, to output in one forward pass an image with low style
# and content costs. A second network predicts from the painting a 100-number *style vector*
# that steers it. The training was expensive, once; each picture now costs one pass.

# %%
NETWORKS = {
    "vgg16_hed": "VGG-16 (HED)",
    "squeezenet_imagenet": "SqueezeNet",
    "darknet_tiny_imagenet": "Darknet tiny",
}
runs, fast = {}, {}
for pair in PAIRS:
    photo, painting = (data_path(name) for name in pair)
    for name in NETWORKS:
        runs[pair, name] = compare.stylize_for(
            photo, painting, CPU_SECONDS, backbone=name, size=IMAGE_SIZE, ratio=RATIO
        )
    nst_utils.fast_stylize(photo, painting, size=IMAGE_SIZE)  # load and trace the networks once
    start = time.perf_counter()
    fast[pair] = (
        nst_utils.fast_stylize(photo, painting, size=IMAGE_SIZE),
        time.perf_counter() - start,
    )
len(runs), len(fast)

# %%
# NBVAL_IGNORE_OUTPUT
print(f"machine load (1-minute average): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
for pair in PAIRS:
    print(f"\n{Path(pair[0]).stem} x {Path(pair[1]).stem}:")
    for name, label in NETWORKS.items():
        run = runs[pair, name]
        print(
            f"  {label:13s} {run.steps:4d} steps in {run.cpu_seconds:.1f} s CPU ({run.wall_seconds:.1f} s wall)"
        )
    print(f"  {'fast':13s}    1 pass  in {fast[pair][1]:.2f} s wall")

# %% [markdown]
# Each row: one pair; the photo and the painting, then the three networks (their steps in the
# same CPU time), then the fast network (its time).

# %%
for pair in PAIRS:
    photo, painting = (nst_utils.load_float_image(data_path(name), IMAGE_SIZE) for name in pair)
    images = [photo, painting] + [runs[pair, name].image for name in NETWORKS] + [fast[pair][0]]
    titles = [Path(pair[0]).stem, Path(pair[1]).stem]
    titles += [f"{label}: {runs[pair, name].steps} steps" for name, label in NETWORKS.items()]
    titles.append(f"fast: one pass, {fast[pair][1]:.2f} s")
    show_jpeg(nst_utils.show_images(images, titles, ncols=3, size=2.4))
print(nst_utils.credits(*(name for pair in PAIRS for name in pair)))
print("The generated images are adaptations of these works.")

# %% [markdown]
# **What the figures show, and this notebook's choice.** In the same CPU time VGG-16 takes a
# handful of steps, and its results are still the photo with a faint texture; SqueezeNet and
# Darknet take many times more steps and repaint the photo with the painting's strokes and
# colours. The two small networks are close; SqueezeNet fits a few more steps into the same time
# and keeps more of the painting's colours (the reds and blues of *Composition VII* on Mars,
# where Darknet's background turns grey). So **SqueezeNet is this notebook's network**
# (`BACKBONE`): on a CPU it buys the most painting per second. VGG is not worse in itself: with
# many more steps (or a GPU) it paints well, as in the course's examples. The fast network is in
# a class of its own for speed (one pass, no optimisation), but it paints with the strokes it
# learned in training, while Gatys' optimisation follows each painting's own statistics.

# %% [markdown]
# ## Step 5: only the ratio of the weights matters, and the layer weights $\lambda^{[l]}$
#
# Multiplying both $\alpha$ and $\beta$ by 10 multiplies $J$ by 10 for *every* image $G$, so
# the image with the lowest $J$ is the same, and every gradient points the same way, only ten
# times longer. Of the two weights only $\beta / \alpha$ counts. The data, at Adam's image of
# Step 3: the cost and the gradient's direction (cosine similarity) with both weights times
# 10, and with only $\alpha$ times 10.


# %%
def cost_and_gradient(image, a, b):
    """J and dJ/dG (flattened) of the first pair at ``image``, with weights a and b."""
    with tf.GradientTape() as tape:
        tape.watch(image)
        outputs = extractor(image)
        J_content = nst_utils.compute_content_cost(
            content_targets[content_layer], outputs[content_layer]
        )
        J = total_cost(J_content, compute_style_cost(style_targets, outputs, style_layers), a, b)
    return float(J), tape.gradient(J, image).numpy().ravel()


def cosine(u, v):
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


at = tf.constant(backbone.preprocess(adam_image[None].astype(np.float32)))
J_1, grad_1 = cost_and_gradient(at, alpha, beta)
J_10, grad_10 = cost_and_gradient(at, 10 * alpha, 10 * beta)
J_a, grad_a = cost_and_gradient(at, 10 * alpha, beta)
print(
    f"alpha and beta x10: J x {J_10 / J_1:.4f}, gradient direction cosine {cosine(grad_1, grad_10):.4f}"
)
print(
    f"only alpha x10:     J x {J_a / J_1:.2f}, gradient direction cosine {cosine(grad_1, grad_a):.2f}"
)

# %% [markdown]
# Pictures, on the second pair. **Top row:** the ratio from little to much style. **Bottom
# row:** both weights times 10 (compare with the top right: the same picture, up to the
# rounding of float32, which sends two optimisation paths slightly apart over many steps; the
# titles give the mean |difference| from the top right, in pixel levels of 0..255), only the first style layer (colours and
# grain), only the two deepest layers (larger, fainter structures; the photo's colours survive).

# %%
sweep_content, sweep_style = (data_path(name) for name in PAIRS[1])
a2, b2 = compare.balanced_weights(
    backbone, sweep_content, sweep_style, size=IMAGE_SIZE, ratio=RATIO
)
sweeps = {
    f"beta/alpha = {RATIO / 100:g} (balanced units)": {"beta": b2 / 100},
    f"beta/alpha = {RATIO / 10:g}": {"beta": b2 / 10},
    f"beta/alpha = {RATIO:g}": {},
    "alpha x10 and beta x10": {"alpha": a2 * 10, "beta": b2 * 10},
    "first style layer only": {"style_layers": style_layers[:1]},
    "two deepest layers only": {"style_layers": style_layers[-2:]},
}
grid = {
    title: nst_utils.stylize(
        sweep_content,
        sweep_style,
        size=IMAGE_SIZE,
        steps=STEPS,
        backbone=backbone,
        content_layer=content_layer,
        progress=False,
        **{"alpha": a2, "beta": b2, "style_layers": style_layers, **options},
    )
    for title, options in sweeps.items()
}
reference = grid[f"beta/alpha = {RATIO:g}"].astype(float)
titles = [
    title
    if "only" in title or title.endswith(f"= {RATIO:g}")
    else f"{title}; |diff| {np.abs(image - reference).mean():.1f}"
    for title, image in grid.items()
]
show_jpeg(nst_utils.show_images(list(grid.values()), titles, ncols=3, size=2.4))
print(nst_utils.credits(*PAIRS[1]))

# %% [markdown]
# ## Step 6: $G$ emerging from noise
#
# The lecture starts $G$ from random noise. Then nothing of the photo is there at first: the
# content cost has to draw the layout back while the style cost paints. Noise is far from the
# painting's statistics, so its style term starts huge; with this notebook's ratio the style
# wins and the layout never comes back. So we give the style less weight (`NOISE_RATIO`) and go
# coarse to fine (`NOISE_SCHEDULE`): the layout is drawn first at the small size. We keep
# a frame every fifth step, save them as an animated GIF and show a strip of them; frames of
# the small levels are shown enlarged, as blurred as the optimiser saw them.

# %%
frames = []


def keep_frame(info):
    if info.step == 1 or info.step % 5 == 0 or info.step == info.steps:
        frames.append((info.step, info.image()))


noise_alpha, noise_beta = compare.balanced_weights(
    backbone, data_path(content_name), data_path(style_name), size=IMAGE_SIZE, ratio=NOISE_RATIO
)
noise_image = nst_utils.stylize(
    data_path(content_name),
    data_path(style_name),
    schedule=NOISE_SCHEDULE,
    alpha=noise_alpha,
    beta=noise_beta,
    backbone=backbone,
    content_layer=content_layer,
    style_layers=style_layers,
    init="noise",
    seed=0,
    callback=keep_frame,
    progress=False,
)
gif = nst_utils.save_gif(OUTPUT_DIR / "bern_from_noise.gif", frames)
print(f"{len(frames)} frames saved to {gif}")

# %%
level_ends = np.cumsum([steps for _, steps in NOISE_SCHEDULE])
strip = [frames[0]] + [pair for pair in frames if pair[0] in {*level_ends, level_ends[0] // 2}]
show_jpeg(nst_utils.show_frames(strip, count=len(strip), size=2.4))
print(nst_utils.credits(content_name, style_name))

# %% [markdown]
# From the noise (step 1) the hills and the river come back slowly, and within this budget only
# roughly; the strokes stay rougher than when starting from the photo. That is why `stylize`
# starts from the photo unless told otherwise (`init="noise"`), and why the course's assignment
# starts from the photo plus noise.

# %% [markdown]
# ## Step 7: a print-sized picture, coarse to fine
#
# A step costs about as much as the image has pixels, so a 512 px picture's steps cost four
# times those at 256 px. `schedule` optimises small first (the layout and the large strokes),
# upsamples, and refines with a few steps at each larger size (`SCHEDULE`).

# %%
# NBVAL_IGNORE_OUTPUT
start_cpu, start = time.process_time(), time.perf_counter()
print_image = nst_utils.stylize(
    data_path(PAIRS[0][0]),
    data_path(PAIRS[0][1]),
    schedule=SCHEDULE,
    alpha=alpha,
    beta=beta,
    backbone=backbone,
    content_layer=content_layer,
    style_layers=style_layers,
    progress=False,
)
print(
    f"{print_image.shape[1]}x{print_image.shape[0]} px, schedule {SCHEDULE}:"
    f" {time.process_time() - start_cpu:.1f} s CPU, {time.perf_counter() - start:.1f} s wall"
)

# %%
show_jpeg(
    nst_utils.show_images(
        [print_image],
        [f"coarse to fine: {print_image.shape[1]}x{print_image.shape[0]} px"],
        size=(print_image.shape[0] + 48) / 110,
    )
)
saved = nst_utils.save_image(
    OUTPUT_DIR / "bern_starry_night.png",
    print_image,
    {
        "content": PAIRS[0][0],
        "style": PAIRS[0][1],
        "backbone": BACKBONE,
        "schedule": str(SCHEDULE),
        "ratio": RATIO,
    },
)
with Image.open(saved) as stored:
    print(nst_utils.credits(*PAIRS[0]))
    print("parameters stored in the PNG:", stored.text["nst_utils"])

# %% [markdown]
# `save_image` writes a PNG and stores the parameters in its metadata, so a picture always says
# how it was made. (The command line does the same:
# `python -m nst_utils stylize CONTENT STYLE -o OUT.png --size 384 --steps 300`, or `--fast`.)
#
# ## Step 8: a live panel
#
# Pick a photo and a painting and move the strength: the fast network repaints in a fraction
# of a second. Strength mixes the painting's style vector with the photo's own
# (strength 0 repaints the photo in its own style).

# %%
PANEL_PHOTOS = [pair[0] for pair in PAIRS] + ["photos/yosemite_bridalveil_fall.jpg"]
PANEL_PAINTINGS = [pair[1] for pair in PAIRS] + ["art/the_scream.jpg", "art/gauguin_te_fare.jpg"]
print(nst_utils.credits(*PANEL_PHOTOS, *PANEL_PAINTINGS))

# %%
# NBVAL_IGNORE_OUTPUT
photos, paintings = [data_path(n) for n in PANEL_PHOTOS], [data_path(n) for n in PANEL_PAINTINGS]
panel = fast_panel(photos, paintings, size=IMAGE_SIZE, strength=0.8)
panel

# %% [markdown]
# Where the notebook runs without a live kernel (the course website, the automatic tests), the
# panel's first picture, at strength 0.8:

# %%
blend = nst_utils.fast_stylize(photos[0], paintings[0], 0.8, size=IMAGE_SIZE)
title = f"{Path(photos[0]).stem} x {Path(paintings[0]).stem}, strength 0.8"
show_jpeg(nst_utils.show_images([blend], [title], size=2.6))

# %% [markdown]
# ## Summary
#
# * Style transfer minimises $J = \alpha J_{content} + \beta J_{style}$ over the pixels of $G$,
#   with the targets of $C$ and $S$ computed once; each step recomputes the activations of $G$
#   under the tape, follows the gradient of the pixels and clips them.
# * Only $\beta / \alpha$ matters; the layer weights $\lambda^{[l]}$ set the scale of the
#   brushwork. The optimiser matters too: L-BFGS gets much further than Adam in as many steps.
# * On a CPU a small ImageNet network (SqueezeNet) paints far more per second than VGG-16;
#   coarse to fine makes print sizes affordable.
# * Fast style transfer trades one expensive training for one forward pass per picture.
#
# **Figures checked by eye:** the cost curves (every step of both optimisers from the photo's
# cost), the Adam/L-BFGS pair, the three comparison rows, the ratio and layer grid, the strip
# from noise, the print and the panel's picture.
#
# ## Exercises
#
# 1. Set `BACKBONE = "vgg16_hed"` and `CPU_SECONDS` ten times larger: does VGG catch up?
# 2. Add a total-variation term (`tv_weight=...` in `stylize`) and compare the speckles.
# 3. Use `"art/the_scream.jpg"`, a portrait-format painting, as the style of a landscape photo.
#    Why does the aspect ratio not matter?
