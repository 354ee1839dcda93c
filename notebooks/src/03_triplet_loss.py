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
# - implement `triplet_loss` (the sum over a batch, with margin $\alpha$);
# - show with numbers why $\alpha > 0$ stops the trivial solution "every face maps to one point";
# - train the same CNN from scratch with **random** triplets and with **mined** (semi-hard and
#   batch-hard) triplets, and compare loss curves and verification accuracy on people the
#   network never saw;
# - look at a 2-D projection of the embeddings before and after training.
#
# **Prerequisites:** TensorFlow basics (`tf.reduce_sum`, `tf.square`, `tf.maximum`); the lectures
# "Siamese network" and "Triplet loss"; notebook 01 (verification with a distance threshold).
# **Run time:** about 3 minutes on a laptop CPU, almost all of it training.

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

from fr_utils.lessons.pair_eval import evaluate_held_out
from fr_utils.lessons.triplets import (
    build_embedding_cnn,
    embed,
    sample_pk_batch,
    select_triplets,
    train_triplet_model,
)
from fr_utils.lfw.crops import load_lfw_crops, split_identities
from fr_utils.losses import triplet_loss as reference_triplet_loss

# %% tags=["parameters"]
alpha = 0.2  # triplet-loss margin, for unit-length embeddings (squared distances lie in [0, 4])
image_size = 64  # side of the face crops, pixels
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
# passes labels first to every loss). Steps:
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
    anchor, positive, negative = y_pred[0], y_pred[1], y_pred[2]
    ### BEGIN SOLUTION
    pos_dist = tf.reduce_sum(tf.square(anchor - positive), axis=-1)
    neg_dist = tf.reduce_sum(tf.square(anchor - negative), axis=-1)
    basic_loss = pos_dist - neg_dist + alpha
    loss = tf.reduce_sum(tf.maximum(basic_loss, 0.0))
    ### END SOLUTION
    return loss


# %% [markdown]
# Two hand-checkable cases. An easy triplet, with $d(A,P) = 0.1^2 = 0.01$ and
# $d(A,N) = 1$: $0.01 - 1 + 0.2 < 0$, so the loss is exactly **0**. A triplet where the three
# encodings coincide: $0 - 0 + \alpha$, so the loss is exactly **α = 0.2**.

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
# ## Why the margin: the collapsed encoder is not a minimum
#
# The easiest way to make $\lVert f(A) - f(P)\rVert^2 \le \lVert f(A) - f(N)\rVert^2$ true is to
# output the same vector for every face: both sides are 0. Compare, on a batch of 64 triplets,
# this *collapsed* encoder (all encodings 0) with a *perfect* one (each person on their own axis,
# so $d(A,P) = 0$ and $d(A,N) = 2$). Without a margin both score 0, so gradient descent has no
# reason to prefer the useful one; with $\alpha = 0.2$ the collapsed encoder costs
# $m\,\alpha = 64 \times 0.2 = 12.8$.

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
# A margin alone does not fix the *scale*, though: an encoder could multiply every distance by
# 100 and make $\alpha$ negligible. So our network ends with an L2 normalisation: every
# embedding has length 1, every squared distance lies in $[0, 4]$, and $\alpha = 0.2$ keeps its
# meaning throughout training (FaceNet does the same).

# %% [markdown]
# ## The data: 92 people of Labeled Faces in the Wild
#
# We use the deep-funneled LFW photos (Huang, Mattar, Lee and Learned-Miller, *Learning to Align
# from Scratch*, NIPS 2012), which are already aligned: every 250×250 photo has its face at about
# the same place. So a **fixed central 120×120 square, resized to 64×64**, is our "aligned face
# chip", with no face detector. We keep the people with at least 15 photos and at most 40 photos
# each, and split the *people* (not the photos) into three disjoint groups: 60 for training, 16
# to choose the verification threshold, 16 to test on. The first load decodes the JPEGs and
# caches the crops as one `.npz` file; later runs read the cache.

# %%
faces = load_lfw_crops(min_images=min_photos, max_images=max_photos, size=image_size)
train_ids, val_ids, test_ids = split_identities(
    len(faces.names), (num_train, num_val, num_test), seed=seed
)
train, val, test = faces.subset(train_ids), faces.subset(val_ids), faces.subset(test_ids)
for group, part in [("train", train), ("validation", val), ("test", test)]:
    print(f"{group:>10}: {len(part.names):3d} people, {len(part):5d} photos")

# %% [markdown]
# A few training crops, one row per person. Note the variety a face encoder must see through:
# pose, lighting, expression, glasses, image quality.
#
# *Photos: Labeled Faces in the Wild (Huang, Ramesh, Berg, Learned-Miller, UMass Amherst TR 07-49,
# 2007), deep-funneled version; used for teaching with citation. Copyright of the photos stays
# with their photographers.*

# %%
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
for row, person in enumerate([0, 1, 2]):
    photos = np.flatnonzero(train.labels == person)[:8]
    for ax, index in zip(axes[row], photos, strict=False):
        ax.imshow(train.images[index])
        ax.axis("off")
    axes[row, 0].set_title(train.names[person].replace("_", " "), fontsize=8, loc="left")
fig.tight_layout()

# %% [markdown]
# ## A small embedding CNN
#
# Four blocks of conv 3×3 → batch norm → ReLU → max-pool 2×2 (64 → 4 pixels), global average
# pooling, a dense layer of 64 units and an L2 normalisation: about 0.1 M parameters, against
# 7.5 M for FaceNet's Inception network NN2 and 140 M for its NN1. We build it once and keep its initial
# weights, so that every strategy starts from the *same* network.

# %%
model = build_embedding_cnn(input_size=image_size, embedding_dim=embedding_dim, seed=seed)
initial_weights = model.get_weights()
print(f"{model.count_params():,} parameters; output shape {model.output_shape}")


# %% [markdown]
# ## Choosing the triplets
#
# Each training batch holds $P = 16$ people × $K = 4$ photos. Every photo serves once as an
# anchor, and we pick its positive and negative **inside the batch** from the matrix of squared
# distances between the batch's embeddings:
#
# - **random**: a random positive and a random negative;
# - **semi-hard** (FaceNet): a random positive, and the closest negative that is still farther
#   than it, $d(A,P) < d(A,N)$ (inside the margin when there is one);
# - **batch-hard** (Hermans et al., 2017): the farthest positive and the closest negative.
#
# Each gives 64 triplets per batch, scored with the course's `triplet_loss` (a sum).

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

# %%
batch = sample_pk_batch(train.labels, people_per_batch, photos_per_person, np.random.default_rng(1))
codes = model(train.images[batch].astype("float32"), training=False)
for strategy in strategies:
    positive, negative = select_triplets(strategy, codes, train.labels[batch], seed=1)
    per_triplet = tf.maximum(
        tf.reduce_sum((codes - tf.gather(codes, positive)) ** 2, axis=-1)
        - tf.reduce_sum((codes - tf.gather(codes, negative)) ** 2, axis=-1)
        + alpha,
        0.0,
    )
    print(f"{strategy:>10}: loss/triplet {float(tf.reduce_mean(per_triplet)):.3f},"
          f" active {float(tf.reduce_mean(tf.cast(per_triplet > 0, tf.float32))):.2f}")  # fmt: skip


# %% [markdown]
# Before training every triplet is active: the untrained network maps all faces close together
# (distances well below $\alpha$), so the loss is about $\alpha$ whatever we pick, and
# batch-hard, which picks each anchor's worst case, scores highest.
#
# ## Train with each strategy
#
# Same initial weights, same 150 batches (same photos, same random mirror flips), same Adam
# optimiser: only the choice of triplets differs. The budget is a number of steps, not seconds,
# so the run is reproducible. First, the baseline: the untrained network's verification
# accuracy on the test people, with the threshold chosen on the validation people.


# %%
def held_out(network):
    """Verification of `network` on the held-out people (threshold from the validation group)."""
    return evaluate_held_out(
        embed(network, val.images), val.labels, embed(network, test.images), test.labels
    )


results = {"untrained": held_out(model)}
test_codes = {"untrained": embed(model, test.images)}
print(
    f"untrained: test accuracy {results['untrained'].test_accuracy:.3f}, AUC {results['untrained'].test_auc:.3f}"
)

# %%
# NBVAL_IGNORE_OUTPUT
# (timings; and the losses of 150 training steps differ in their last digits between CPU types)
histories = {}
for strategy in strategies:
    model.set_weights(initial_weights)
    start = time.perf_counter()
    histories[strategy] = train_triplet_model(
        model, train.images, train.labels, strategy=strategy, steps=steps,
        p=people_per_batch, k=photos_per_person, alpha=alpha, learning_rate=learning_rate, seed=seed,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    results[strategy], test_codes[strategy] = held_out(model), embed(model, test.images)
    final_loss = histories[strategy].loss[-20:].mean()
    print(f"{strategy:>10}: {steps} steps in {seconds:.0f} s, final loss/triplet {final_loss:.3f}")

# %% [markdown]
# ## Loss curves
#
# `triplet_loss` returns a *sum* over the batch; to compare batches of any size we plot it divided
# by the 64 triplets, i.e. the mean loss per triplet (smoothed over 10 steps). Beware that the
# three curves measure *different* triplets: batch-hard scores each anchor's worst case, so its
# loss is the largest by construction. The dotted line is $\alpha$, the loss of a collapsed
# encoder. The right plot shows the fraction of triplets that still produce a gradient.

# %%
smooth = lambda x: np.convolve(x, np.ones(10) / 10, mode="valid")  # noqa: E731
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
for strategy, history in histories.items():
    left.plot(smooth(history.loss), label=strategy)
    right.plot(smooth(history.active), label=strategy)
left.axhline(alpha, color="gray", linestyle=":", label="α (collapse)")
left.set(xlabel="step", ylabel="loss per triplet", title="training loss (sum / 64)")
right.set(xlabel="step", ylabel="fraction", title="triplets with loss > 0", ylim=(0, 1.05))
left.legend(fontsize=8)
fig.tight_layout()

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

# %% [markdown]
# Left: test accuracy of each encoder (the dashed line is chance). Right: the ROC curves on the
# test pairs; the higher and more to the left, the better.

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
names = list(results)
left.bar(
    names, [results[k].test_accuracy for k in names], color=[f"C{i}" for i in range(len(names))]
)
left.axhline(0.5, color="gray", linestyle="--")
left.set(ylim=(0.4, 1.0), ylabel="test accuracy", title="held-out verification")
for name, result in results.items():
    fpr, tpr, _ = roc_curve(result.test_same, -result.test_distances)
    right.plot(fpr, tpr, label=f"{name} (AUC {result.test_auc:.2f})")
right.plot([0, 1], [0, 1], color="gray", linestyle="--")
right.set(xlabel="false accept rate", ylabel="true accept rate", title="ROC, test people")
right.legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## The embeddings before and after training
#
# A principal component analysis (PCA) projects the 64-D embeddings of 8 test people onto the
# plane of largest variance; one colour per person. Look for same-coloured points grouping
# together after training.

# %%
shown = np.isin(test.labels, np.arange(8))
fig, axes = plt.subplots(1, len(test_codes), figsize=(3 * len(test_codes), 3))
for ax, (name, codes) in zip(axes, test_codes.items(), strict=True):
    xy = PCA(n_components=2, random_state=seed).fit_transform(codes[shown])
    ax.scatter(xy[:, 0], xy[:, 1], c=test.labels[shown], cmap="tab10", s=10)
    ax.set(title=name, xticks=[], yticks=[])
fig.tight_layout()

# %% [markdown]
# ## What the numbers say, honestly
#
# - **Training works, a little.** From the same start, 150 small steps of triplet training move
#   verification on unseen people from near chance (about 56 %, AUC 0.58) to about 67 % (AUC
#   0.73), and the PCA plots show people starting to form groups.
# - **Random and semi-hard triplets end up close; batch-hard from scratch does worse.** With 60
#   people and a 64-image batch, random triplets stay informative: at the start about 85 % of
#   them have a positive loss, and still about 60 % after 150 steps (right loss plot). Mining is
#   expected to pay off once almost all random triplets are satisfied, which happens later in a
#   long run on many people (try it: "What to try next" below). Picking the *hardest* triplets
#   from the first step does the opposite of what we want here: its loss sits at $\alpha$, the
#   signature of a (nearly) collapsed encoder, and the threshold it needs is tiny. The hardest
#   pairs in a batch are often profiles, occluded or blurred photos that a weak network cannot
#   tell apart, and the cheapest way to bring their loss down to $\alpha$ is to pull all
#   embeddings together. FaceNet reports exactly this: "selecting the hardest negatives can in
#   practice lead to bad local minima early on in training, specifically it can result in a
#   collapsed model", which is why it uses semi-hard negatives. (Hermans et al. make batch-hard
#   work with a soft margin and larger networks, some of them pretrained.)
# - **This is far from a real face encoder.** The pretrained encoder of the next notebooks
#   (dlib's ResNet) reaches 99.38 % on the LFW benchmark. FaceNet was trained on 100–200 million
#   photos of about 8 million people, and the lecture's commercial systems on well over a million
#   images. We used 1,559 photos of 60 people at 64×64 pixels, 150 steps of 64 images (about six
#   passes over the training photos) and a network of 0.1 M parameters. From so few people, much
#   of what a small network picks up is lighting, pose and colour that several photos of one
#   person share, rather than identity that carries over to new people.

# %% [markdown]
# ## Summary
#
# - The triplet loss $J = \sum_i \max(\lVert f(A_i)-f(P_i)\rVert^2 - \lVert f(A_i)-f(N_i)\rVert^2 + \alpha, 0)$
#   is a sum of hinges; the margin $\alpha$ makes the collapsed encoder cost $m\alpha$, and L2
#   normalised embeddings keep $\alpha$ meaningful.
# - Triplets are chosen inside $P \times K$ batches from the embedding distance matrix: random,
#   semi-hard or batch-hard.
# - A small CNN trained for two minutes on LFW learns something that transfers to new people, far
#   below a pretrained encoder; mining the hardest triplets from scratch can collapse it.
#
# ## What to try next
#
# 1. Train longer (`steps = 600`): does semi-hard mining overtake random triplets once most random
#    triplets are satisfied (watch the right loss plot)?
# 2. Warm up with random or semi-hard triplets for 100 steps, then switch to batch-hard.
# 3. Set `alpha = 0.0` and train: what happens to the distances and to the verification accuracy?
# 4. Change the batch shape: `photos_per_person = 8`, `people_per_batch = 8`. How does batch-hard
#    behave with more positives per person?
# 5. Replace the squared distances in the loss by plain distances. Which margin then plays the
#    role of $\alpha = 0.2$?
