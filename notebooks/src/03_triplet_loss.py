# %% [markdown]
# # The triplet loss, and training a face encoder with it
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/03_triplet_loss.ipynb)
#
# A face encoder $f$ turns a photo into a vector so that photos of the same person land close
# together and photos of different people land far apart. FaceNet learns $f$ with the
# **triplet loss**: it looks at an *anchor* photo $A$, a *positive* $P$ (same person) and a
# *negative* $N$ (someone else) and pushes $d(A, P)$ below $d(A, N)$ by a margin $\alpha$.
# Here you implement that loss, see why the margin is needed, and then train a small CNN with it
# on real faces, on a CPU, in a couple of minutes.
#
# **You will**
# - implement `triplet_loss` (the sum over a batch, with margin $\alpha$), and check it on the
#   lecture's margin example;
# - show with numbers why $\alpha > 0$ stops the trivial solution "every face maps to one point";
# - see why training needs several photos of each person, and which triplets each mining
#   strategy picks;
# - train the same CNN from scratch with **random** triplets and with **mined** (semi-hard and
#   batch-hard) triplets, and compare loss curves and verification accuracy on people the
#   network never saw, next to the simplest baseline: the distance between raw pixels;
# - look at a 2-D projection of the embeddings before and after training.
#
# **Prerequisites:** TensorFlow basics (`tf.reduce_sum`, `tf.square`, `tf.maximum`); the lectures
# "Siamese network" and "Triplet loss"; notebook 01 (verification with a distance threshold).
# **Run time:** about two minutes on a laptop CPU, almost all of it training.

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
import time

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.decomposition import PCA
from sklearn.metrics import roc_curve

import workbook.prose
from fr_utils.lessons.pair_eval import evaluate_held_out
from fr_utils.lessons.triplets import (
    STRATEGY_COLOURS,
    build_embedding_cnn,
    draw_mined_triplets,
    embed,
    sample_pk_batch,
    train_triplet_model,
    triplet_distances,
)
from fr_utils.lfw.crops import load_lfw_crops, photo_counts, split_identities
from fr_utils.losses import triplet_loss as reference_triplet_loss
from workbook.credits import credits

# %% tags=["parameters"]
alpha = 0.2  # triplet-loss margin, for unit-length embeddings (squared distances lie in [0, 4])
image_size = 64  # side of the face crops, pixels
crop = 120  # side of the central square cut from each 250x250 LFW photo, pixels
min_photos, max_photos = 15, 40  # people with at least 15 LFW photos; use at most 40 of each
num_train, num_val, num_test = 60, 16, 16  # people for training / threshold / test (disjoint)
people_per_batch, photos_per_person = 16, 4  # batches of P people x K photos (64 images)
steps = 150  # training steps per strategy (the same batches for every strategy)
learning_rate = 1e-3  # Adam
embedding_dim = 64  # length of the embedding
strategies = ["random", "semi_hard", "batch_hard"]  # triplet selection strategies to compare
seed = 0


# %% [markdown]
# ## The triplet loss
#
# For one triplet of encodings, with squared L2 distances,
#
# $$\mathcal{L}(A, P, N) = \max\left(\lVert f(A) - f(P)\rVert^2 - \lVert f(A) - f(N)\rVert^2 + \alpha,\; 0\right),$$
#
# and for a batch of $m$ triplets the cost is the **sum** $J = \sum_{i=1}^{m} \mathcal{L}(A^{(i)}, P^{(i)}, N^{(i)})$.
# A triplet costs nothing once the negative is at least $\alpha$ farther (in squared distance)
# than the positive; otherwise it costs how far it is from that. The `max(·, 0)` matters: without
# it, already-good triplets would keep pushing with a *negative* loss and swamp the others.

# %% [markdown]
# ---
# ## Exercise 1: `triplet_loss` (3 points)
#
# Implement `triplet_loss(y_true, y_pred, alpha=0.2)`. `y_pred` is the list
# `[anchor, positive, negative]`, each a tensor of shape `(m, d)`; `y_true` is ignored (Keras
# passes labels first to every loss). The given first line turns the three parts into float32
# tensors, so the loss also takes Python lists and NumPy arrays (the course's own test cell
# passes lists, and `[1.0, 1.0] - [1.0, 1.0]` is an error in Python). Steps:
# 1. the squared distances $\lVert A_i - P_i\rVert^2$ and $\lVert A_i - N_i\rVert^2$, one per row
#    (sum over the last axis, `axis=-1`);
# 2. `basic_loss` = positive distance − negative distance + `alpha`;
# 3. the sum over the batch of `max(basic_loss, 0)`: a scalar.


# %% nbgrader={"grade": false, "grade_id": "ex_triplet_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def triplet_loss(y_true, y_pred, alpha=0.2):
    """Triplet loss of a batch: sum_i max(||a_i - p_i||^2 - ||a_i - n_i||^2 + alpha, 0).

    Args:
        y_true: ignored (Keras losses take the labels first).
        y_pred: list [anchor, positive, negative], each a (m, d) tensor of encodings.
        alpha: the margin.

    Returns:
        A scalar tensor: the loss summed (not averaged) over the m triplets.
    """
    anchor, positive, negative = (tf.cast(y_pred[i], tf.float32) for i in range(3))
    ### BEGIN SOLUTION
    pos_dist = tf.reduce_sum(tf.square(anchor - positive), axis=-1)
    neg_dist = tf.reduce_sum(tf.square(anchor - negative), axis=-1)
    basic_loss = pos_dist - neg_dist + alpha
    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0))
    ### END SOLUTION
    return loss


# %% [markdown]
# Two hand-checkable cases. An easy triplet, with $d(A,P) = 0.1^2 = 0.01$ and
# $d(A,N) = 1$: $0.01 - 1 + \alpha < 0$, so the loss is exactly **0**. A triplet where the three
# encodings coincide: $0 - 0 + \alpha$, so the loss is exactly **α**.

# %%
a, p, n = tf.constant([[0.0, 0.0]]), tf.constant([[0.1, 0.0]]), tf.constant([[1.0, 0.0]])
easy = float(triplet_loss(None, [a, p, n]))
coincide = float(triplet_loss(None, [a, a, a]))
print(f"easy triplet: {easy:.3f}   identical encodings: {coincide:.3f}")

# %% nbgrader={"grade": true, "grade_id": "check_triplet_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
"""Check that triplet_loss() sums max(d(A,P) - d(A,N) + alpha, 0) over the batch."""
from fr_utils.checks.nb03 import check_triplet_loss

check_triplet_loss(triplet_loss)
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(11)
_codes = [tf.constant(_rng.normal(size=(9, 7)), tf.float32) for _ in range(3)]
for _margin in (0.0, 0.2, 1.5):
    np.testing.assert_allclose(
        float(triplet_loss(None, _codes, alpha=_margin)),
        float(reference_triplet_loss(None, _codes, alpha=_margin)),
        rtol=1e-5,
        err_msg=f"wrong loss with alpha={_margin}",
    )
_zeros = tf.zeros((5, 3))
assert abs(float(triplet_loss(None, [_zeros, _zeros, _zeros], alpha=0.3)) - 1.5) < 1e-6
### END HIDDEN TESTS

# %% [markdown]
# ## The lecture's margin example
#
# Take $d(A,P) = 0.5$ and $d(A,N) = 0.51$. The negative is farther than the positive, so the
# bare inequality $d(A,P) \le d(A,N)$ holds, although the encoder barely tells the two people
# apart. Here are three encodings with exactly those squared distances, given as Python lists
# as the course's test cell does, and your `triplet_loss` without and with the margin:

# %%
A, P, N = [0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.1]  # d(A,P) = 0.5, d(A,N) = 0.51
d_ap, d_an = (float(np.sum(np.square(np.subtract(A, x)))) for x in (P, N))
loss_no_margin = float(triplet_loss(None, (A, P, N), alpha=0.0))
loss_margin = float(triplet_loss(None, (A, P, N), alpha=alpha))
far_enough = [0.5, 0.5, float(np.sqrt(d_ap + alpha - 0.5))]  # moved out to d(A,N) = d(A,P) + alpha
loss_far = float(triplet_loss(None, np.array([A, P, far_enough]), alpha=alpha))  # a NumPy array
print(f"d(A,P) = {d_ap:.2f}, d(A,N) = {d_an:.2f}")
print(f"alpha = 0: loss {loss_no_margin:.2f};  alpha = {alpha}: loss {loss_margin:.2f}")
print(f"negative moved to d(A,N) = {d_ap + alpha:.2f}: loss {loss_far:.2f}")

# %% tags=["remove-input"]
workbook.prose.show(
    f"Without a margin this triplet costs {loss_no_margin:.2f} and produces no gradient: training"
    f" would leave it alone. With $\\alpha = {alpha}$ it costs"
    f" {d_ap:.2f} − {d_an:.2f} + {alpha} = {loss_margin:.2f}, and the cost only vanishes once the"
    f" negative is pushed out to $d(A,N) \\ge d(A,P) + \\alpha = {d_ap + alpha:.2f}$. The margin"
    " asks for a *gap* between the two people, not just the right order."
)

# %% [markdown]
# ## Why the margin: the collapsed encoder is not a minimum
#
# The easiest way to make $\lVert f(A) - f(P)\rVert^2 \le \lVert f(A) - f(N)\rVert^2$ true is to
# output the same vector for every face: both sides are 0. Compare, on a batch of 64 triplets,
# this *collapsed* encoder (all encodings 0) with a *perfect* one (each person on their own axis,
# so $d(A,P) = 0$ and $d(A,N) = 2$). Without a margin both score 0, so gradient descent has no
# reason to prefer the useful one; with a margin the collapsed encoder costs $m\,\alpha$ and the
# perfect one nothing.

# %%
m = 64
collapsed = [tf.zeros((m, 8))] * 3
people = tf.one_hot(np.arange(m) % 8, 8)  # anchor and positive: person i mod 8
perfect = [people, people, tf.roll(people, shift=1, axis=0)]  # negative: the next person
for margin in (0.0, alpha):
    print(
        f"alpha={margin:.1f}:  collapsed encoder J = {float(triplet_loss(None, collapsed, margin)):.1f}"
        f"   perfect encoder J = {float(triplet_loss(None, perfect, margin)):.1f}"
    )

# %% [markdown]
# A margin alone does not fix the *scale*, though: an encoder could multiply every distance by a
# large factor and make $\alpha$ negligible. So our network ends with an L2 normalisation: every
# embedding has length 1, every squared distance lies in $[0, 4]$, and $\alpha = 0.2$ keeps its
# meaning throughout training (FaceNet does the same).

# %% [markdown]
# ## The data: the people of Labeled Faces in the Wild with many photos
#
# A triplet needs two photos of one person, so training an encoder needs **several photos of
# every person** in the training set; the lecture's example is 10k photos of 1k people, about
# ten each. (Only *using* the trained encoder is one-shot: it enrols a new person from one
# photo.) How many photos per person does LFW offer?

# %%
per_person = np.array(list(photo_counts().values()))
print("photos per person   people   photos (at most", max_photos, "each)")
for least in (1, 2, 4, 10, min_photos, 20):
    kept = per_person[per_person >= least]
    print(f"{least:>10} or more  {len(kept):7d}  {np.minimum(kept, max_photos).sum():7d}")

# %% tags=["remove-input"]
kept = per_person[per_person >= min_photos]
two_or_three = np.mean(per_person[per_person >= 2] <= 3)
workbook.prose.show(
    f"Most LFW people have a single photo ({np.mean(per_person == 1):.0%} of {len(per_person):,})"
    f" and are useless for training. Of those with two or more, {two_or_three:.0%} have only two"
    f" or three, one to three positive pairs each. So we keep the people with at least"
    f" {min_photos} photos: {len(kept)} people and {np.minimum(kept, max_photos).sum():,} photos"
    f" (at most {max_photos} each, so that the few very photographed people do not dominate), on"
    f" average {np.minimum(kept, max_photos).mean():.0f} per person. Then every batch of"
    f" {photos_per_person} photos of a person is a fresh draw from a pool of {min_photos} or more"
    " (so the positives change from step to step), and every held-out person brings at least"
    f" {min_photos * (min_photos - 1) // 2} genuine pairs to the verification test. The price is"
    " few people, the limit this notebook runs into at the end."
)

# %% [markdown]
# We use the deep-funneled LFW photos (Huang, Mattar, Lee and Learned-Miller, *Learning to Align
# from Scratch*, NIPS 2012), which are already aligned: every 250×250 photo has its face at about
# the same place. So a **fixed central square** (`crop` pixels) resized to `image_size` pixels is
# our "aligned face chip", with no face detector. We split the *people* (not the photos) into
# three disjoint groups: `num_train` for training, `num_val` to choose the verification
# threshold, `num_test` to test on. The first load decodes the JPEGs and caches the crops as one
# `.npz` file; later runs read the cache.

# %%
faces = load_lfw_crops(min_images=min_photos, max_images=max_photos, size=image_size, crop=crop)
train_ids, val_ids, test_ids = split_identities(
    len(faces.names), (num_train, num_val, num_test), seed=seed
)
train, val, test = faces.subset(train_ids), faces.subset(val_ids), faces.subset(test_ids)
for group, part in [("train", train), ("validation", val), ("test", test)]:
    print(f"{group:>10}: {len(part.names):3d} people, {len(part):5d} photos")

# %% [markdown]
# A few training crops, one row per person. Note the variety a face encoder must see through:
# pose, lighting, expression, glasses, image quality. (Copyright of the photos stays with their
# photographers.)

# %%
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
for row, person in enumerate([0, 1, 2]):
    photos = np.flatnonzero(train.labels == person)[:8]
    for ax, index in zip(axes[row], photos, strict=False):
        ax.imshow(train.images[index])
        ax.axis("off")
    axes[row, 0].set_title(train.names[person].replace("_", " "), fontsize=8, loc="left")
fig.tight_layout()
print(credits("faces/lfw/"))

# %% [markdown]
# ## A small embedding CNN
#
# Four blocks of conv 3×3 → batch norm → ReLU → max-pool 2×2 (64 → 4 pixels), global average
# pooling, a dense layer of `embedding_dim` units and an L2 normalisation: a tiny network (its
# size is printed below) next to FaceNet's, 7.5 M parameters for the Inception network NN2 and
# 140 M for NN1. We build it once and keep its initial weights, so that every strategy starts
# from the *same* network.

# %%
model = build_embedding_cnn(input_size=image_size, embedding_dim=embedding_dim, seed=seed)
initial_weights = model.get_weights()
print(f"{model.count_params():,} parameters; output shape {model.output_shape}")


# %% [markdown]
# ## Choosing the triplets
#
# Each training batch holds $P$ = `people_per_batch` people × $K$ = `photos_per_person` photos.
# Every photo serves once as an anchor, and we pick its positive and negative **inside the
# batch** from the matrix of squared distances between the batch's embeddings:
#
# - **random**: a random positive and a random negative;
# - **semi-hard** (FaceNet): a random positive, and the closest negative that is still farther
#   than it, $d(A,P) < d(A,N)$ (inside the margin when there is one);
# - **batch-hard** (Hermans et al., 2017): the farthest positive and the closest negative.
#
# Each gives one triplet per anchor, $PK$ per batch, scored with the course's `triplet_loss`
# (a sum).

# %% [markdown]
# ---
# ## Exercise 2: batch-hard mining (2 points)
#
# Implement `batch_hard_triplets(distances, labels)` in NumPy. `distances` is the `(n, n)` matrix
# of squared distances between the batch's embeddings and `labels` the `(n,)` identities. Return
# two integer arrays of length `n`: for each anchor `i`, the index of its **farthest positive**
# (same label, not `i` itself) and of its **closest negative** (another label). Hint: build the
# boolean masks `labels[:, None] == labels[None, :]` and `np.eye(n, dtype=bool)`, replace the
# entries you may not choose by `-np.inf` or `np.inf` with `np.where`, then `argmax`/`argmin`
# along `axis=1`. (Training uses the TensorFlow version in `fr_utils.lessons.triplets`, which does the
# same inside the compiled training step.)


# %% nbgrader={"grade": false, "grade_id": "ex_batch_hard", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batch_hard_triplets(distances, labels):
    """For each anchor, the farthest positive and the closest negative in the batch.

    Args:
        distances: (n, n) array of squared distances between embeddings.
        labels: (n,) array of identity labels; each label occurs at least twice.

    Returns:
        (positive_index, negative_index): two (n,) integer arrays of row indices.
    """
    ### BEGIN SOLUTION
    same = labels[:, None] == labels[None, :]
    positives = same & ~np.eye(len(labels), dtype=bool)
    positive_index = np.where(positives, distances, -np.inf).argmax(axis=1)
    negative_index = np.where(~same, distances, np.inf).argmin(axis=1)
    ### END SOLUTION
    return positive_index, negative_index


# %% [markdown]
# Six photos of two people on a line: person 0 at 0, 1 and 5, person 1 at 2, 3.5 and 9. The
# anchor at 0 has positives at 1 and 5 (farthest: index 2) and negatives at 2, 3.5, 9 (closest:
# index 3). Expected: positives `[2 2 0 5 5 3]`, negatives `[3 3 4 1 2 2]`.

# %%
line = np.array([0.0, 1.0, 5.0, 2.0, 3.5, 9.0])
line_labels = np.array([0, 0, 0, 1, 1, 1])
positive_index, negative_index = batch_hard_triplets(
    (line[:, None] - line[None, :]) ** 2, line_labels
)
print("positives:", positive_index, " negatives:", negative_index)

# %% nbgrader={"grade": true, "grade_id": "check_batch_hard", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that batch_hard_triplets() picks the farthest positive and the closest negative."""
from fr_utils.checks.nb03 import check_batch_hard_triplets

check_batch_hard_triplets(batch_hard_triplets)

# %% [markdown]
# On one batch, with the untrained network, compare the three strategies: the mean loss per
# triplet, and the fraction of triplets with a non-zero loss (only those produce a gradient).
# We embed the batch twice: in inference mode, as the verification tests below do, and in
# training mode, as the training steps do (batch normalisation then uses the batch's own
# statistics instead of its running averages, which are still at their initial values).


# %%
def active_triplets(codes, labels, strategy):
    """(mean loss per triplet, fraction of triplets with a positive loss) for one strategy."""
    d_ap, d_an = triplet_distances(strategy, codes, labels, seed=1)
    per_triplet = np.maximum(d_ap - d_an + alpha, 0.0)
    return per_triplet.mean(), np.mean(per_triplet > 0)


batch = sample_pk_batch(train.labels, people_per_batch, photos_per_person, np.random.default_rng(1))
pixels = train.images[batch].astype("float32")
start_of_training = {}
for mode, training in (("inference", False), ("training", True)):
    codes = model(pixels, training=training)
    for strategy in strategies:
        start_of_training[mode, strategy] = active_triplets(codes, train.labels[batch], strategy)
        loss, active = start_of_training[mode, strategy]
        print(f"{mode:>9} mode, {strategy:>10}: loss/triplet {loss:.3f}, active {active:.2f}")
model.set_weights(initial_weights)  # the training-mode call nudged batch norm's running averages

# %% tags=["remove-input"]
inference_active = [start_of_training["inference", k][1] for k in strategies]
training_random = start_of_training["training", "random"][1]
workbook.prose.show(
    f"In inference mode the untrained network maps all faces close together: on average"
    f" {np.mean(inference_active):.0%} of the triplets are active whatever we pick, and the loss is about $\\alpha = {alpha}$. In training mode the same"
    f" network spreads the batch out, and {training_random:.0%} of the random triplets are"
    " active: that is where the training curves below start. Batch-hard, which picks each"
    " anchor's worst case, scores the highest loss in both modes."
)

# %% [markdown]
# ## Train with each strategy
#
# Same initial weights, same `steps` batches (same photos, same random mirror flips), same Adam
# optimiser: only the choice of triplets differs. The budget is a number of steps, not seconds,
# so the run is reproducible. First, the baselines: verification on the test people with the
# untrained network, and with **no network at all**, the L2 distance between the raw pixels of
# the two aligned crops (the course assignment's first attempt). Each threshold is chosen on the
# validation people.


# %%
def held_out(network):
    """Verification of `network` on the held-out people (threshold from the validation group)."""
    return evaluate_held_out(
        embed(network, val.images), val.labels, embed(network, test.images), test.labels
    )


def raw_pixels(crops):
    """Each crop as one long vector of its pixel values in [0, 1]."""
    return crops.images.reshape(len(crops), -1).astype("float32") / 255


results = {
    "raw pixels": evaluate_held_out(raw_pixels(val), val.labels, raw_pixels(test), test.labels)
}
results["untrained"] = held_out(model)
test_codes = {"untrained": embed(model, test.images)}
for name, result in results.items():
    print(f"{name:>10}: test accuracy {result.test_accuracy:.3f}, AUC {result.test_auc:.3f}")

# %%
# NBVAL_IGNORE_OUTPUT
# (timings; and the losses of 150 training steps differ in their last digits between CPU types)
histories, trained_weights = {}, {}
for strategy in strategies:
    model.set_weights(initial_weights)
    start = time.perf_counter()
    histories[strategy] = train_triplet_model(
        model, train.images, train.labels, strategy=strategy, steps=steps,
        p=people_per_batch, k=photos_per_person, alpha=alpha, learning_rate=learning_rate, seed=seed,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    results[strategy], test_codes[strategy] = held_out(model), embed(model, test.images)
    trained_weights[strategy] = model.get_weights()
    final_loss = histories[strategy].loss[-20:].mean()
    print(f"{strategy:>10}: {steps} steps in {seconds:.0f} s, final loss/triplet {final_loss:.3f}")

# %% [markdown]
# ## Loss curves
#
# `triplet_loss` returns a *sum* over the batch; to compare batches of any size we plot it
# divided by the batch's $PK$ triplets, i.e. the mean loss per triplet (smoothed over 10
# steps). Beware that the three curves measure *different* triplets: batch-hard scores each
# anchor's worst case, so its loss is the largest by construction. The dotted line is $\alpha$,
# the loss of a collapsed encoder. The right plot shows the fraction of triplets that still
# produce a gradient.

# %%
smooth = lambda x: np.convolve(x, np.ones(10) / 10, mode="valid")  # noqa: E731
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
for strategy, history in histories.items():
    left.plot(smooth(history.loss), color=STRATEGY_COLOURS[strategy], label=strategy)
    right.plot(smooth(history.active), color=STRATEGY_COLOURS[strategy])
left.axhline(alpha, color="gray", linestyle=":", label="α (collapse)")
left.set(xlabel="step", ylabel="loss per triplet", title="training loss (sum / PK)")
right.set(xlabel="step", ylabel="fraction", title="triplets with loss > 0", ylim=(0, 1.05))
fig.legend(loc="upper center", ncol=4, frameon=False)
fig.tight_layout(rect=(0, 0, 1, 0.9))

# %% tags=["remove-input", "nbval-approximate"]
begin = {k: h.active[:10].mean() for k, h in histories.items()}
end = {k: h.active[-20:].mean() for k, h in histories.items()}
workbook.prose.show(
    f"Random triplets stay informative: in the first ten steps {begin['random']:.0%} of them"
    f" have a positive loss, and still {end['random']:.0%} in the last twenty. Semi-hard and"
    f" batch-hard triplets are chosen to be hard, so almost all of them stay active"
    f" ({end['semi_hard']:.0%} and {end['batch_hard']:.0%} at the end)."
)

# %% [markdown]
# ## Which triplets does each strategy pick?
#
# Mining happens inside each batch, with the network being trained. Below, the network after
# its training with random triplets embeds one batch of training people, and for three anchors
# (rows) each strategy picks a positive P and a negative N, with their squared distances
# $d$ to the anchor. Random picks both at random; semi-hard keeps the same random positive and
# takes the closest negative that is still farther than it; batch-hard takes the farthest
# positive and the closest negative. Below the figure, the same choices summed up over all the
# anchors of the batch.

# %% tags=["nbval-approximate"]
model.set_weights(trained_weights["random"])
batch = sample_pk_batch(train.labels, people_per_batch, photos_per_person, np.random.default_rng(2))
codes = embed(model, train.images[batch])
fig = draw_mined_triplets(
    train.images[batch], codes, train.labels[batch], anchors=[0, 4, 8], seed=seed
)
print(credits("faces/lfw/"))
mined = {k: triplet_distances(k, codes, train.labels[batch], seed) for k in strategies}
for strategy, (d_ap, d_an) in mined.items():
    print(f"{strategy:>10}, whole batch: mean d(A,P) {d_ap.mean():.2f}, mean d(A,N) {d_an.mean():.2f},"
          f" violated d(A,N) < d(A,P): {np.mean(d_an < d_ap):.2f}")  # fmt: skip

# %% tags=["remove-input", "nbval-approximate"]
(rp, rn), (sp, sn), (bp, bn) = ((d.mean() for d in mined[k]) for k in strategies)
rv, sv, bv = (np.mean(d_an < d_ap) for d_ap, d_an in mined.values())
workbook.prose.show(
    f"Random negatives are the farthest on average (mean d(A,N) {rn:.2f} against d(A,P) {rp:.2f}),"
    f" yet {rv:.0%} of the random triplets are already violated, the negative closer than the"
    f" positive: this young network confuses many people. Semi-hard negatives sit just beyond the"
    f" positive (mean {sn:.2f}; violated only where no farther negative exists, {sv:.0%}), inside"
    f" the margin where the loss pushes hardest without being a hopeless case. Batch-hard pairs the"
    f" farthest positive (mean {bp:.2f}, often a turned head, a shadow or a blur) with the closest"
    f" negative (mean {bn:.2f}): {bv:.0%} of its triplets are violated, the hardest possible task"
    " for a network this young."
)

# %% [markdown]
# ## Verification on people never seen in training
#
# Each group of held-out people gives all its genuine pairs and as many random impostor pairs
# (so guessing scores 50 %). The threshold on the L2 distance is the one with the best accuracy
# on the *validation* people; the accuracy below is measured with it on the *test* people. The
# AUC (area under the ROC curve) needs no threshold at all.

# %% tags=["nbval-approximate"]
# training from scratch: the last digits differ between CPU types (README, "Notebook tests")
for name, result in results.items():
    print(
        f"{name:>10}: test accuracy {result.test_accuracy:.3f}  AUC {result.test_auc:.3f}"
        f"  (threshold {result.threshold:.2f}, validation accuracy {result.val_accuracy:.3f})"
    )

# %% [markdown]
# The facts the discussion below relies on, as checks that hold on any CPU:

# %%
untrained_auc = results["untrained"].test_auc
print("every strategy beats the untrained network by 0.03+ AUC:",
      all(results[k].test_auc > untrained_auc + 0.03 for k in strategies))  # fmt: skip
print("random and semi-hard within 0.05 AUC:",
      abs(results["random"].test_auc - results["semi_hard"].test_auc) < 0.05)  # fmt: skip
print("batch-hard is the weakest:", min(strategies, key=lambda k: results[k].test_auc))
print("batch-hard's loss per triplet ends within 0.01 of alpha:",
      abs(histories["batch_hard"].loss[-20:].mean() - alpha) < 0.01)  # fmt: skip
print("the best trained encoder beats raw pixels by 0.05+ AUC:",
      max(results[k].test_auc for k in strategies) > results["raw pixels"].test_auc + 0.05)  # fmt: skip

# %% [markdown]
# Left: test accuracy of each encoder (the dashed line is chance). Right: the ROC curves on the
# test pairs; the higher and more to the left, the better. Each encoder has one colour in every
# figure of this notebook.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
names = list(results)
colours = [STRATEGY_COLOURS[k] for k in names]
left.bar(names, [results[k].test_accuracy for k in names], color=colours)
left.axhline(0.5, color="gray", linestyle="--")
left.set(ylim=(0.4, 1.0), ylabel="test accuracy", title="held-out verification")
left.tick_params(axis="x", labelrotation=20)
for name, result in results.items():
    fpr, tpr, _ = roc_curve(result.test_same, -result.test_distances)
    right.plot(fpr, tpr, color=STRATEGY_COLOURS[name], label=f"{name} (AUC {result.test_auc:.2f})")
right.plot([0, 1], [0, 1], color="gray", linestyle="--")
right.set(xlabel="false accept rate", ylabel="true accept rate", title="ROC, test people")
right.legend(loc="lower right")
fig.tight_layout()

# %% [markdown]
# ## The embeddings before and after training
#
# A principal component analysis (PCA) projects the embeddings of 8 test people onto the plane
# of largest variance; one colour per *person* (the legend below names them; the panel titles
# keep the encoders' colours). Look for same-coloured points grouping together after training.

# %%
shown = np.isin(test.labels, np.arange(8))
fig, axes = plt.subplots(1, len(test_codes), figsize=(2.6 * len(test_codes), 3.1))
for ax, (name, codes) in zip(axes, test_codes.items(), strict=True):
    xy = PCA(n_components=2, random_state=seed).fit_transform(codes[shown])
    for person in range(8):
        mine = test.labels[shown] == person
        label = test.names[person].replace("_", " ")
        ax.scatter(xy[mine, 0], xy[mine, 1], s=9, color=plt.cm.tab10(person), label=label)
    ax.set(xticks=[], yticks=[], xlabel="PC 1", ylabel="PC 2")
    ax.set_title(name, color=STRATEGY_COLOURS[name])
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, markerscale=1.5)
fig.tight_layout(rect=(0, 0.16, 1, 1))

# %% [markdown]
# ## What the numbers say, honestly

# %% tags=["remove-input", "nbval-approximate"]
r = results
passes = steps * people_per_batch * photos_per_person / len(train)
workbook.prose.show(f"""\
- **Training works, a little.** From the same start, {steps} small steps of triplet training
  move verification on unseen people from near chance (untrained:
  {r["untrained"].test_accuracy:.0%}, AUC {r["untrained"].test_auc:.2f}) to
  {r["random"].test_accuracy:.0%} (AUC {r["random"].test_auc:.2f}) with random triplets and
  {r["semi_hard"].test_accuracy:.0%} (AUC {r["semi_hard"].test_auc:.2f}) with semi-hard ones,
  and the PCA plots show people starting to form groups. The distance between raw pixels scores
  {r["raw pixels"].test_accuracy:.0%} (AUC {r["raw pixels"].test_auc:.2f}): a photo of another
  person in the same light and pose is closer, pixel by pixel, than a photo of the same person
  in other conditions.
- **Random and semi-hard triplets end up close; batch-hard from scratch does worse**
  ({r["batch_hard"].test_accuracy:.0%}, AUC {r["batch_hard"].test_auc:.2f}). With
  {len(train.names)} people and a batch of {people_per_batch * photos_per_person} images, random
  triplets stay informative (the right loss plot). Mining is expected to pay off once almost all
  random triplets are satisfied, which happens later in a long run on many people (try it: "What
  to try next" below). Picking the *hardest* triplets from the first step does the opposite of
  what we want here: its loss sits at $\\alpha$, the signature of a (nearly) collapsed encoder,
  and the threshold it needs is tiny ({r["batch_hard"].threshold:.2f}, against
  {r["random"].threshold:.2f} for random triplets). The hardest pairs in a batch are often
  profiles, occluded or blurred photos that a weak network cannot tell apart (see the mining
  figure), and the cheapest way to bring their loss down to $\\alpha$ is to pull all embeddings
  together. FaceNet reports exactly this: "selecting the hardest negatives can in practice lead
  to bad local minima early on in training, specifically it can result in a collapsed model",
  which is why it uses semi-hard negatives. (Hermans et al. make batch-hard work with a soft
  margin and larger networks, some of them pretrained.)
- **This is far from a real face encoder.** The pretrained encoder of the next notebooks
  (dlib's ResNet) reaches 99.38 % on the LFW benchmark. FaceNet was trained on 100–200 million
  photos of about 8 million people, and the lecture's commercial systems on well over a million
  images. We used {len(train):,} photos of {len(train.names)} people at {image_size}×{image_size}
  pixels, {steps} steps of {people_per_batch * photos_per_person} images (about {passes:.0f}
  passes over the training photos) and a network of {model.count_params():,} parameters. From so
  few people, much of what a small network picks up is lighting, pose and colour that several
  photos of one person share, rather than identity that carries over to new people.
""")

# %% [markdown]
# ## Summary
#
# - The triplet loss $J = \sum_i \max(\lVert f(A_i)-f(P_i)\rVert^2 - \lVert f(A_i)-f(N_i)\rVert^2 + \alpha, 0)$
#   is a sum of hinges; the margin $\alpha$ makes the collapsed encoder cost $m\alpha$, and L2
#   normalised embeddings keep $\alpha$ meaningful.
# - Triplets are chosen inside $P \times K$ batches from the embedding distance matrix: random,
#   semi-hard or batch-hard.
# - Training needs several photos of every person (a triplet needs two of the same person);
#   only the trained encoder works from one photo.
# - A small CNN trained briefly on LFW learns something that transfers to new people, far
#   below a pretrained encoder but above raw pixels; mining the hardest triplets from scratch
#   can collapse it.
#
# ## What to try next
#
# 1. Train longer (`steps = 600`): does semi-hard mining overtake random triplets once most random
#    triplets are satisfied (watch the right loss plot)?
# 2. Warm up with random or semi-hard triplets for half of the steps, then switch to batch-hard.
# 3. Set `alpha = 0.0` and train: what happens to the distances and to the verification accuracy?
# 4. Change the batch shape: `photos_per_person = 8`, `people_per_batch = 8`. How does batch-hard
#    behave with more positives per person?
# 5. Replace the squared distances in the loss by plain distances. Which margin then plays the
#    role of $\alpha = 0.2$?
# 6. Set `min_photos = 4`: many more people, fewer photos each. Does verification on new people
#    improve (more identities) or suffer (fewer positives per person)?
