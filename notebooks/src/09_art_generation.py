# %% [markdown]
# # Neural style transfer 3: art generation
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/09_art_generation.ipynb)
#
# Notebooks 07 and 08 built the two halves of the cost. Here we combine them,
#
# $$J(G) = \alpha \, J_{content}(C, G) + \beta \, J_{style}(S, G),$$
#
# and minimise $J$ over the pixels of $G$ while the network stays frozen.
#
# **You will** implement the multi-layer style cost and the total cost, write the optimisation
# loop yourself, compare it with the package's `stylize` (L-BFGS), generate art for three
# content/style pairs, and see how the weights $\alpha, \beta$ and the per-layer weights
# $\lambda^{[l]}$ change the result.
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
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from PIL import Image

import nst_utils
from nst_utils.checks.nb09 import check_compute_style_cost, check_total_cost
from workbook import data_path

# %% tags=["parameters"]
IMAGE_SIZE = 128  # pixels on the long side of the results; 384-512 for prints (much slower)
STEPS = 40  # L-BFGS steps per image; 150-300 give cleaner, more painted results
LOOP_STEPS = 15  # steps of the hand-written Adam loop in Step 3
SWEEP_SIZE = 96  # smaller images for the 2 x 3 grid of weight sweeps
SWEEP_STEPS = 30
ALPHA, BETA = 10.0, 40.0  # the course's weights of the content and style costs
CONTENT_LAYER = "block4_conv2"
STYLE_LAYERS = [
    ("block1_conv1", 0.2),
    ("block2_conv1", 0.2),
    ("block3_conv1", 0.2),
    ("block4_conv1", 0.2),
    ("block5_conv1", 0.2),
]
# Content photos are CC BY or public domain, so the stylised results may be shared with credit.
PAIRS = [
    ("photos/bern_from_north.jpg", "art/starry_night.jpg"),
    ("photos/plaigne_countryside.jpg", "art/great_wave_off_kanagawa.jpg"),
    ("photos/mars_valles_marineris_nasa.jpg", "art/composition_vii.jpg"),
]


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
# ## Step 2: content, style, and targets computed once
#
# The first pair: a photo of Bern and *The Starry Night*. The style image may have another size
# and aspect ratio than the content image: Gram matrices sum over positions.

# %%
content_name, style_name = PAIRS[0]
content = nst_utils.load_float_image(data_path(content_name), size=IMAGE_SIZE)
style = nst_utils.load_float_image(data_path(style_name), size=IMAGE_SIZE)
print(nst_utils.credits(content_name, style_name))
content.shape, style.shape

# %% [markdown]
# One extractor returns the content layer and every style layer in a single forward pass. The
# activations of $C$ and $S$ never change, so we compute them once, before the loop.

# %%
backbone = nst_utils.load_backbone("vgg16_hed")
extractor = nst_utils.feature_extractor(backbone, STYLE_LAYERS, CONTENT_LAYER)
content_targets = extractor([backbone.preprocess(content[None])])
style_targets = extractor([backbone.preprocess(style[None])])
sorted(content_targets)

# %% [markdown]
# ## Step 3: the optimisation loop
#
# The generated image is a `tf.Variable` holding preprocessed pixels (BGR, mean subtracted), and
# starts as the content photo. Each step computes $J$ under a `GradientTape`, applies an Adam
# update to the pixels, and clips them back to the valid range $[0, 255]$.

# %%
generated = tf.Variable(backbone.preprocess(content[None]))
optimizer = tf.keras.optimizers.Adam(learning_rate=4.0)  # in pixel units (0..255)
low = -np.array(backbone.mean_bgr, np.float32)
high = 255.0 + low


@tf.function
def train_step():
    with tf.GradientTape() as tape:
        outputs = extractor([generated])
        J_content = nst_utils.compute_content_cost(
            content_targets[CONTENT_LAYER], outputs[CONTENT_LAYER]
        )
        J_style = compute_style_cost(style_targets, outputs, STYLE_LAYERS)
        J = total_cost(J_content, J_style, alpha=ALPHA, beta=BETA)
    optimizer.apply_gradients([(tape.gradient(J, generated), generated)])
    generated.assign(tf.clip_by_value(generated, low, high))
    return J


# %% [markdown]
# Run three steps as a trial: the cost should fall.

# %%
[f"{float(train_step()):.4g}" for _ in range(3)]

# %% [markdown]
# Now the rest of the loop, keeping the cost of every step.

# %%
adam_costs = [float(train_step()) for _ in range(LOOP_STEPS - 3)]
adam_image = nst_utils.to_uint8(backbone.deprocess(generated)[0])
f"J after {LOOP_STEPS} Adam steps: {adam_costs[-1]:.4g}"

# %% [markdown]
# `nst_utils.stylize` does the same optimisation with L-BFGS, a quasi-Newton method that builds a
# picture of the cost's curvature from recent gradients; each step costs the same forward and
# backward pass, but it gets much further in as many steps. Compare the two curves.

# %%
recorder = nst_utils.FrameRecorder()
lbfgs_image = nst_utils.stylize(
    content,
    style,
    size=IMAGE_SIZE,
    steps=LOOP_STEPS,
    alpha=ALPHA,
    beta=BETA,
    content_layer=CONTENT_LAYER,
    style_layers=STYLE_LAYERS,
    callback=recorder,
    progress=False,
)
f"J after {LOOP_STEPS} L-BFGS steps: {recorder.costs[-1][1]:.4g}"

# %% [markdown]
# The cost (log scale) against the step: L-BFGS falls far below Adam within the same budget.

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogy(range(4, LOOP_STEPS + 1), adam_costs, label="Adam (our loop)")
ax.semilogy(*zip(*recorder.costs, strict=True), label="L-BFGS (stylize)")
ax.set(xlabel="step", ylabel="total cost J")
ax.legend()
plt.show()

# %% [markdown]
# Both images after the same number of steps:

# %%
nst_utils.show_images(
    [content, adam_image, lbfgs_image],
    ["content", f"Adam, {LOOP_STEPS} steps", f"L-BFGS, {LOOP_STEPS} steps"],
)
print(nst_utils.credits(content_name, style_name))

# %% [markdown]
# ## Step 4: art from three content/style pairs
#
# `stylize` with the course's weights, starting from the content photo. Each row: photo, painting,
# result; the credits follow the figure. Larger sizes and 150-300 steps give finer brushwork.

# %%
results = []
for content_name, style_name in PAIRS:
    results.append(
        nst_utils.stylize(
            data_path(content_name),
            data_path(style_name),
            size=IMAGE_SIZE,
            steps=STEPS,
            alpha=ALPHA,
            beta=BETA,
            style_layers=STYLE_LAYERS,
            progress=False,
        )
    )
[image.shape for image in results]

# %%
panels, titles = [], []
for (content_name, style_name), result in zip(PAIRS, results, strict=True):
    panels += [
        nst_utils.load_float_image(data_path(content_name), IMAGE_SIZE),
        nst_utils.load_float_image(data_path(style_name), IMAGE_SIZE),
        result,
    ]
    titles += [Path(content_name).stem, Path(style_name).stem, "generated"]
nst_utils.show_images(panels, titles, ncols=3, size=1.8)
print(nst_utils.credits(*(name for pair in PAIRS for name in pair)))
print("The generated images are adaptations of these works.")

# %% [markdown]
# ## Step 5: how the weights change the result
#
# Two sweeps on the second pair, at a smaller size. **Top row:** the ratio $\beta / \alpha$ from
# little to much style. With VGG's activations in pixel units the style cost is thousands of
# times larger than the content cost, so the course's ratio of 4 already paints over most of the
# photo; the interesting range lies far below it. **Bottom row:** the per-layer weights $\lambda^{[l]}$: only the first
# layer (colours and grain), the course's equal weights, and only the deep layers (larger
# structures; their costs are much smaller, so we raise $\beta$ to give them a say).

# %%
sweep_content, sweep_style = (data_path(name) for name in PAIRS[1])
sweeps = {
    "beta/alpha = 4e-5": {"beta": 4e-4},
    "beta/alpha = 4e-3": {"beta": 4e-2},
    "beta/alpha = 4 (course)": {"beta": BETA},
    "block1 only": {"style_layers": [("block1_conv1", 1.0)]},
    "equal weights (course)": {"style_layers": STYLE_LAYERS},
    "block4+5 only, beta x100": {
        "style_layers": [("block4_conv1", 0.5), ("block5_conv1", 0.5)],
        "beta": 100 * BETA,
    },
}
grid = {
    title: nst_utils.stylize(
        sweep_content,
        sweep_style,
        size=SWEEP_SIZE,
        steps=SWEEP_STEPS,
        alpha=ALPHA,
        **{"beta": BETA, **options},
        progress=False,
    )
    for title, options in sweeps.items()
}
len(grid)

# %%
nst_utils.show_images(list(grid.values()), list(grid), ncols=3, size=1.8)
print(nst_utils.credits(*PAIRS[1]))

# %% [markdown]
# ## Step 6: an interactive panel
#
# Move the sliders and press the button to stylise the first pair at a tiny size (64 px,
# 20 steps: a few seconds on a CPU). Nothing runs until you press it, so the panel stays static
# when the notebook is executed automatically.

# %%
# NBVAL_IGNORE_OUTPUT
import ipywidgets as widgets
from IPython.display import display

beta_slider = widgets.FloatLogSlider(value=BETA, base=10, min=-2, max=4, description="beta")
layer_sliders = [
    widgets.FloatSlider(value=w, min=0, max=1, step=0.05, description=n) for n, w in STYLE_LAYERS
]
button, output = widgets.Button(description="Stylize"), widgets.Output()


def on_click(_):
    layers = [(s.description, s.value) for s in layer_sliders if s.value > 0]
    with output:
        output.clear_output()
        image = nst_utils.stylize(
            data_path(PAIRS[0][0]),
            data_path(PAIRS[0][1]),
            size=64,
            steps=20,
            alpha=ALPHA,
            beta=beta_slider.value,
            style_layers=layers,
            progress=False,
        )
        nst_utils.show_images([image], [f"beta={beta_slider.value:.3g}"], size=2.5)
        plt.show()


button.on_click(on_click)
display(widgets.VBox([beta_slider, *layer_sliders, button, output]))

# %% [markdown]
# ## Step 7: save the result with its parameters
#
# `save_image` writes a PNG and stores the parameters in its metadata, so a picture always says
# how it was made. (The command line does the same:
# `python -m nst_utils stylize CONTENT STYLE -o OUT.png --size 384 --steps 300`.)

# %%
with tempfile.TemporaryDirectory() as folder:
    parameters = {
        "content": PAIRS[0][0],
        "style": PAIRS[0][1],
        "size": IMAGE_SIZE,
        "steps": STEPS,
        "alpha": ALPHA,
        "beta": BETA,
    }
    path = nst_utils.save_image(Path(folder) / "bern_starry_night.png", results[0], parameters)
    with Image.open(path) as saved:
        stored = saved.text["nst_utils"]
stored

# %%
# NBVAL_IGNORE_OUTPUT
import time

start = time.perf_counter()
nst_utils.stylize(content, style, size=IMAGE_SIZE, steps=5, progress=False)
print(
    f"{(time.perf_counter() - start) / 5 * 1000:.0f} ms/step at {IMAGE_SIZE} px on this machine (incl. setup)"
)

# %% [markdown]
# ## Summary
#
# * Style transfer minimises $J = \alpha J_{content} + \beta J_{style}$ over the pixels of the
#   generated image, with the targets of $C$ and $S$ computed once.
# * $\beta / \alpha$ sets how much paint covers the photo; the layer weights $\lambda^{[l]}$ set the
#   scale of the brushwork.
# * The optimiser matters: L-BFGS reaches in a few dozen steps costs that Adam needs hundreds for
#   (`benchmarks/bench_nst.py` measures it).
#
# ## Exercises
#
# 1. Start from noise (`init="noise"`) instead of the photo. How many more steps does it take?
# 2. Add a total-variation term (`tv_weight=1.0`) and compare the speckles in the results.
# 3. Use `"art/the_scream.jpg"`, a portrait-format painting, as the style of a landscape photo.
#    Why does the aspect ratio not matter?
