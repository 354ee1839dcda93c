# %% [markdown]
# # Face verification vs. face recognition: one-shot learning
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/01_one_shot_learning.ipynb)
#
# A door that opens for the people it knows has to solve a problem ordinary classifiers cannot:
# it sees each person **once** at enrolment, and new people join all the time. This notebook
# shows how a *similarity function* solves it, and why recognising one person among $K$ is much
# harder than checking one claimed identity.
#
# **You will**
# - train the obvious alternative, a softmax over the $K$ enrolled people plus "nobody", and
#   measure why it fails at one-shot learning and when a new person joins;
# - implement the similarity function $d(\text{img}_1, \text{img}_2) = \lVert f(\text{img}_1) - f(\text{img}_2)\rVert^2$ and the decision $d \le \tau$;
# - pick the threshold $\tau$ from a ROC curve measured on real face encodings;
# - measure how the errors of a recognition system grow with the number of enrolled people $K$,
#   next to the lecture's "about $K$ times" argument;
# - see why a door also needs *liveness detection*: a printed photo is the best match it gets.
#
# **Prerequisites:** NumPy; the lecture "Face recognition: one-shot learning".
# **Run time:** under a minute on a laptop CPU. No convolutional network runs here: we use
# encodings that OpenFace's nn4.small2 network (the course's FaceNet-style model) computed from
# Labeled Faces in the Wild (LFW) photos.

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
from sklearn.metrics import roc_auc_score, roc_curve

import workbook.prose
from fr_utils.lessons.one_shot import (
    NOBODY,
    door_split,
    identify,
    predicted_false_accept_rate,
    recognition_errors,
    train_softmax,
    verification_pairs,
)
from fr_utils.lessons.reference import load_openface_reference
from fr_utils.metrics import best_threshold

# %% tags=["parameters"]
gallery_sizes = [1, 2, 5, 10, 20, 50, 100]  # database sizes K to simulate
n_trials = 2000  # simulated door visits per K (more = smoother curves)
seed = 0  # seed of the simulation and of the softmax door's people
n_known, n_nobody = 10, 100  # softmax door: people enrolled; strangers who train "nobody"

# %% [markdown]
# ## The data: OpenFace encodings of LFW photos
#
# Each row is a 128-dimensional encoding $f(x)$ of one LFW photo, made by the OpenFace network
# (Amos et al., 2016) from a 96×96 aligned crop. Rows have unit length, like FaceNet's.
# Data: Huang et al., *Labeled Faces in the Wild*, UMass Amherst TR 07-49, 2007 (used for teaching,
# with citation); embeddings from the Keras-OpenFace project (Apache-2.0).

# %%
encodings, names = load_openface_reference()
people, counts = np.unique(names, return_counts=True)
print(f"{encodings.shape[0]} encodings of {len(people)} people, dimension {encodings.shape[1]}")
print(
    f"people with 2+ photos: {(counts >= 2).sum()}; with exactly one photo: {(counts == 1).sum()}"
)
print("row norms:", np.round(np.linalg.norm(encodings[:3], axis=1), 4))


# %% tags=["remove-input"]
workbook.prose.show(
    f"Most people here have a single photo ({(counts == 1).sum()} of {len(people)}), and only"
    f" {(counts > 5).sum()} have more than five: the situation of a door that enrols each"
    " employee from one photo."
)

# %% [markdown]
# ## Why not a softmax over the people you know?
#
# The obvious design is an ordinary classifier: one softmax output per employee and one for
# "nobody", $K + 1$ outputs. The lecture lists two problems: one photo per person is far too
# little to train on, and the output layer has one column of weights *per person*, so every
# new colleague changes its shape and means training again. Let us measure both on the
# encodings, which is the kindest setting for the softmax: the hard part (turning pixels into
# 128 numbers that describe a face) is already done by a network trained as a Siamese one.
#
# The door enrols `n_known` people; photos of `n_nobody` other people teach the "nobody"
# class, each class weighing the same in the loss. We test on photos of the enrolled people
# that were never enrolled, and on photos of strangers the classifier never saw.

# %%
split = door_split(names, n_known, max_shots=5, n_nobody=n_nobody, seed=seed)
print(f"{len(split.known)} enrolled people, {len(split.probes)} test photos of them;")
print(f"{len(split.nobody)} photos train 'nobody', {len(split.strangers)} strangers come to test")


def enrolment(shots):
    """Rows and class labels of the first `shots` enrolment photos of every known person."""
    return split.enrol[:, :shots].ravel(), np.repeat(np.arange(n_known), shots)


def door_rates(predict):
    """(enrolled test photos given the right name, strangers answered 'nobody')."""
    right = np.mean(predict(encodings[split.probes]) == split.probe_labels)
    return right, np.mean(predict(encodings[split.strangers]) == NOBODY)


# %% [markdown]
# The softmax with one and with five enrolment photos per person, and, on the same test
# photos, the similarity function of this notebook with **one** photo per person: the door
# names the nearest enrolled face if $d \le \tau$ and says "nobody" otherwise. The threshold
# $\tau$ is chosen further down, on a ROC curve over all pairs (the softmax needs none).

# %% tags=["nbval-approximate"]
# training runs (deterministic: zero start, full batch); last digits may differ between CPUs
softmaxes, door = {}, {}
for shots in (1, 5):
    rows, labels = enrolment(shots)
    x = encodings[np.concatenate([rows, split.nobody])]
    y = np.concatenate([labels, np.full(len(split.nobody), NOBODY)])
    softmaxes[shots] = train_softmax(x, y, n_known)
    door[f"softmax, {shots} photo(s) each"] = door_rates(softmaxes[shots].predict)
tau_door = best_threshold(*verification_pairs(encodings, names), criterion="balanced")
rows, labels = enrolment(1)
door["similarity d <= tau, 1 photo each"] = door_rates(
    lambda probes: identify(probes, encodings[rows], labels, tau_door)
)
print(f"{'door':36s} right name  strangers kept out")
for name, (right, kept_out) in door.items():
    print(f"{name:36s} {right:10.3f}  {kept_out:18.3f}")
print(f"training loss with one photo each: {softmaxes[1].final_loss:.4f}")

# %% tags=["remove-input", "nbval-approximate"]
(right1, out1), (right5, out5), (right_sim, out_sim) = door.values()
workbook.prose.show(
    f"With one photo per person the softmax drives its training loss to almost zero"
    f" ({softmaxes[1].final_loss:.4f}): it memorises {n_known} photos and names only"
    f" {right1:.0%} of the new photos of the same people. Five photos each lift it to"
    f" {right5:.0%}. The similarity function, trained once on *other* people, names"
    f" {right_sim:.0%} from the single photo. The softmax keeps more strangers out"
    f" ({out1:.0%} against {out_sim:.0%}) because it was shown {n_nobody} of them as"
    ' "nobody"; the similarity door trades that against accepting the enrolled people with'
    " $\\tau$, the subject of the rest of this notebook."
)

# %% [markdown]
# Now a new colleague joins. The trained softmax has no output for them: all it can answer
# for their photos is "nobody" or somebody else's name. To name them, the output layer must
# grow by a column and the whole classifier must be trained again. The similarity door only
# stores the newcomer's one encoding.

# %% tags=["nbval-approximate"]
newcomer_photos = encodings[split.newcomer_rows[1:]]  # the first photo enrols them
answers = softmaxes[1].predict(newcomer_photos)
print(f"newcomer ({len(newcomer_photos)} photos) before retraining: 'nobody'"
      f" {np.mean(answers == NOBODY):.2f}, someone else {np.mean(answers != NOBODY):.2f}")  # fmt: skip
rows, labels = enrolment(1)
x = encodings[np.concatenate([rows, split.newcomer_rows[:1], split.nobody])]
y = np.concatenate([labels, [n_known], np.full(len(split.nobody), NOBODY)])
grown = train_softmax(x, y, n_known + 1)
print(f"output layer {softmaxes[1].weights.shape} -> {grown.weights.shape}, all retrained;"
      f" newcomer named: {np.mean(grown.predict(newcomer_photos) == n_known):.2f}")  # fmt: skip
gallery, gallery_labels = (
    encodings[np.append(rows, split.newcomer_rows[0])],
    np.append(labels, n_known),
)
named = np.mean(identify(newcomer_photos, gallery, gallery_labels, tau_door) == n_known)
print(f"similarity door: one encoding stored, nothing retrained; newcomer named: {named:.2f}")

# %% [markdown]
# This is why face recognition is built on a *similarity function* learned once, on other
# people:
#
# $$d(\text{img}_1, \text{img}_2) = \lVert f(\text{img}_1) - f(\text{img}_2) \rVert_2^2, \qquad
# \text{same person} \iff d \le \tau .$$
#
# Enrolling someone new is then just storing one more encoding.

# %% [markdown]
# ---
# ## Exercise 1: the similarity function (2 points)
#
# Implement `distance(f1, f2)`, the squared L2 distance between encodings. It must work for two
# single encodings of shape `(128,)` (return a number) and for two batches of shape `(n, 128)`
# (return `n` distances, one per row): sum over the last axis only.


# %% nbgrader={"grade": false, "grade_id": "ex_distance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def distance(f1, f2):
    """Squared L2 distance d = ||f1 - f2||^2 between encodings.

    Args:
        f1, f2: arrays of shape (128,) or (n, 128).

    Returns:
        A float (single encodings) or an array of n distances (batches).
    """
    ### BEGIN SOLUTION
    return np.sum(np.square(np.asarray(f1) - np.asarray(f2)), axis=-1)
    ### END SOLUTION


# %% [markdown]
# Two orthogonal unit vectors are at squared distance $1 + 1 = 2$; a face and itself at 0:

# %%
e1, e2 = np.eye(128)[:2]
float(distance(e1, e2)), float(distance(encodings[0], encodings[0]))

# %% nbgrader={"grade": true, "grade_id": "check_distance", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that distance() returns the squared L2 distance, per row for batches."""
from fr_utils.checks.nb01 import check_distance

check_distance(distance)
### BEGIN HIDDEN TESTS
_rows = np.random.default_rng(3).normal(size=(5, 128))
np.testing.assert_allclose(
    distance(_rows, _rows[::-1]), ((_rows - _rows[::-1]) ** 2).sum(axis=1), rtol=1e-6
)
assert float(distance(_rows[0], _rows[0])) == 0.0, "a face is at distance 0 from itself"
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2: the verification decision (1 point)
#
# Implement `is_same_person(f1, f2, tau)`: `True` when $d(f_1, f_2) \le \tau$. Use your
# `distance`, so that the threshold and the distance are on the same (squared) scale.


# %% nbgrader={"grade": false, "grade_id": "ex_is_same_person", "locked": false, "schema_version": 3, "solution": true, "task": false}
def is_same_person(f1, f2, tau):
    """Verification: True when the squared distance between two encodings is at most tau."""
    ### BEGIN SOLUTION
    return distance(f1, f2) <= tau
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "check_is_same_person", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
"""Check that is_same_person() accepts exactly the pairs with d <= tau."""
from fr_utils.checks.nb01 import check_is_same_person

check_is_same_person(is_same_person)

# %% [markdown]
# ## Choose the threshold τ from a ROC curve
#
# Every pair of rows is a verification trial: *genuine* when both photos show the same person,
# *impostor* otherwise. Sliding $\tau$ trades the true-accept rate (genuine pairs with
# $d \le \tau$) against the false-accept rate (impostor pairs with $d \le \tau$): that trade-off
# is the ROC curve. We pick the $\tau$ that maximises balanced accuracy
# $(\text{TPR} + \text{TNR})/2$, because impostor pairs outnumber genuine ones hundreds to one.

# %%
d, same = verification_pairs(encodings, names)
print(f"{same.sum()} genuine pairs, {(~same).sum()} impostor pairs")
tau = best_threshold(d, same, criterion="balanced")
fpr, tpr, _ = roc_curve(same, -d)  # a smaller distance means "more similar"
print(f"ROC AUC = {roc_auc_score(same, -d):.3f}; chosen tau = {tau:.3f}")

# %% [markdown]
# The left plot shows the two distance distributions and the chosen $\tau$; the right plot is
# the ROC curve with our operating point. Look at how much the distributions overlap: OpenFace
# is a small model (its authors report 92.9 % on LFW), so a single threshold cannot separate
# them perfectly.

# %%
p_false_accept = float(np.mean(d[~same] <= tau))
p_true_accept = float(np.mean(d[same] <= tau))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
ax1.hist(d[~same], bins=60, density=True, alpha=0.6, label="different people")
ax1.hist(d[same], bins=60, density=True, alpha=0.6, label="same person")
ax1.axvline(tau, color="k", ls="--", label=f"tau = {tau:.2f}")
ax1.set(xlabel="squared distance d", ylabel="density", title="Pair distances")
ax1.legend(fontsize=8)
ax2.plot(fpr, tpr)
ax2.plot([p_false_accept], [p_true_accept], "ko", label="our tau")
ax2.set(xscale="log", xlabel="false-accept rate", ylabel="true-accept rate", title="ROC")
ax2.legend(fontsize=8)
fig.tight_layout()

# %%
print(
    f"at tau = {tau:.3f}: true-accept rate {p_true_accept:.3f}, false-accept rate {p_false_accept:.4f}"
)
print(f"balanced accuracy {(p_true_accept + 1 - p_false_accept) / 2:.3f}")

# %% [markdown]
# ## Verification (1:1) vs. recognition (1:K)
#
# *Verification* answers "is this the person they claim to be?" with one comparison.
# *Recognition* answers "who is this?" by comparing with all $K$ enrolled people and returning
# the nearest one within $\tau$, or "unknown". A stranger at the door now has $K$ chances to fall
# within $\tau$ of somebody. If one comparison falsely accepts with probability $p$, then
#
# $$P(\text{false accept among } K) = 1 - (1 - p)^K \approx K p \quad (Kp \ll 1),$$
#
# which is the lecture's point: a 99 %-accurate verifier does not make a 99 %-accurate
# recognition system for 100 people. Let us simulate the door: enrol $K$ random people with one
# photo each, then show it a photo of an enrolled person (genuine) and of a stranger (impostor).

# %%
errors = recognition_errors(encodings, names, gallery_sizes, tau, n_trials=n_trials, seed=seed)
predicted = predicted_false_accept_rate(p_false_accept, gallery_sizes)
print(" K  false-accept  predicted 1-(1-p)^K  K*p    misidentified  false-reject")
for i, k in enumerate(gallery_sizes):
    print(
        f"{k:3d}  {errors['false_accept'][i]:10.3f}  {predicted[i]:17.3f}  {k * p_false_accept:6.3f}"
        f"  {errors['misidentified'][i]:12.3f}  {errors['false_reject'][i]:12.3f}"
    )

# %% [markdown]
# Three things to read in this table:
#
# - **Strangers get in more often as $K$ grows**, about $K$-fold while $Kp$ is small (compare the
#   first rows with the $Kp$ column). For larger $K$ the measured rate stays *below*
#   $1-(1-p)^K$: the $K$ comparisons of one stranger are not independent. Some faces lie close
#   to many others (similar pose, lighting, or look), others far from everybody, so false
#   accepts pile up on a few strangers instead of spreading evenly.
# - **Enrolled people are misidentified more often**: with more people in the database, a
#   genuine visitor is more likely to be nearer to someone else's photo than to their own.
# - **False rejects fall**, but not for a good reason: a genuine visitor who is far from their
#   own photo now often lands within $\tau$ of someone else, so a safe "unknown person" turns
#   into a wrong name. Recognition errors move from rejections to misidentifications.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(gallery_sizes, errors["false_accept"], "o-", label="stranger accepted (measured)")
ax.plot(gallery_sizes, predicted, "k--", label=r"$1-(1-p)^K$ from 1:1 rate")
ax.plot(
    gallery_sizes, np.minimum(np.array(gallery_sizes) * p_false_accept, 1), "k:", label=r"$K p$"
)
ax.plot(gallery_sizes, errors["misidentified"], "s-", label="enrolled person misidentified")
ax.plot(gallery_sizes, errors["false_reject"], "^-", label="enrolled person rejected")
ax.set(xscale="log", xlabel="number of enrolled people K", ylabel="error rate")
ax.set_xticks(gallery_sizes, [str(k) for k in gallery_sizes])
ax.set_title(f"Recognition errors at fixed tau = {tau:.2f}")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# A real system keeps the false-accept rate low as $K$ grows by lowering $\tau$ (at the cost
# of more false rejects) or, better, by using a stronger encoder whose distributions overlap
# less. Notebook 05 repeats this measurement with the dlib ResNet encoder (99.38 % on LFW).
#
# ## A photo of a face is not a face: liveness detection
#
# In the lecture's demonstration, someone holds an employee's badge photo up to the door and
# the door refuses. Nothing in this notebook would refuse: the encoder was trained to see the
# *same person* through changes of lighting, pose, expression and image quality, which are
# exactly the differences between a live face and a good photo of it. How often would a photo
# open the door?

# %%
replay = float(distance(encodings[0], encodings[0]))  # the enrolment photo held up again
print(
    f"the enrolment photo itself: d = {replay:.2f}; genuine pairs: median d = {np.median(d[same]):.2f}"
)
print(f"any other photo of the employee (from the web, say) opens the door: {p_true_accept:.2f}")

# %% tags=["remove-input"]
workbook.prose.show(
    f"A copy of the enrolment photo is the best match the door can ever see (d = {replay:.2f},"
    f" where two real photos of one person have a median d of {np.median(d[same]):.2f}), and any"
    f" photo of the employee, the kind found online, opens it with probability"
    f" {p_true_accept:.0%}, the true-accept rate of a real visit."
)

# %% [markdown]
# So a real door adds **liveness detection**, a separate check that the face in front of the
# camera belongs to a live person, and only then runs recognition. The lecture notes that it
# can be learned as a supervised problem (live vs. spoof examples, often from video). What it
# takes in practice:
#
# - **depth or infrared sensing**: a print or a screen is flat, and skin reflects infrared
#   differently from paper and glass (structured-light or time-of-flight cameras, as in phones);
# - **a challenge**: ask for a blink, a smile or a head turn and check the motion in a few
#   video frames (a photo cannot respond; a replayed video of the right response is harder);
# - **texture analysis**: a classifier on the image itself spots print dots, screen pixel grids,
#   moiré patterns, glare and the paper's edge.
#
# None of these is in this workbook's data (single still photos), which is why we only name them.
#
# ## Summary
#
# - A softmax over the enrolled people (+ "nobody") needs several photos per person and has to
#   grow and be trained again for every newcomer; a similarity function learned once does not.
# - One-shot learning: learn a similarity function $d$ once; enrol a person with one photo.
# - Verification is one comparison $d \le \tau$; recognition is $K$ comparisons, and its
#   false-accept rate grows like $1 - (1-p)^K \approx Kp$.
# - Choose $\tau$ on a ROC curve, with the trade-off your application needs.
# - Recognition matches faces, not people: without liveness detection a photo opens the door.
#
# ## Exercises
#
# 1. Choose $\tau$ so that the 1:1 false-accept rate is 0.1 %. How do the recognition curves change?
# 2. Enrol two photos per person and use the smaller of the two distances. Which error improves?
# 3. Count a visitor as "correctly handled" only when the right name comes out. How does that
#    accuracy fall with $K$, and which error dominates at $K = 100$?
