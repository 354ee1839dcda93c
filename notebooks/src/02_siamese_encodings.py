# %% [markdown]
# # Siamese network: encodings and distances
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/cnn-workbook/special-applications/blob/main/notebooks/02_siamese_encodings.ipynb)
#
# Notebook 01 compared faces through a similarity function $d$. Here we build that function
# from a real network. A deep network $f$ maps each aligned face to 128 numbers, its
# *encoding* $f(x)$. Two photos show the same person when their encodings are close. The
# lecture calls this a **Siamese network**: the *same* network, with the *same* weights, is
# applied to both inputs, and only the distance between its two outputs is compared.
#
# **You will**
# - implement `img_to_encoding`: photo → detected, aligned face → $f(x)$, a $(1, 128)$ vector;
# - implement a vectorised `distance_matrix` that compares every face with every other face
#   at once;
# - look at the distance matrix of LFW photos of eight people as a heatmap;
# - measure the lecture's deployment trick: encode the database **once**, not on every query.
#
# **Prerequisites:** notebook 01; the lecture "Siamese network".
# **Run time:** about a minute on a laptop CPU (the detector is the slow part).
#
# **The encoder.** `fr_utils.load_face_model()` returns dlib's face-recognition ResNet
# (29 convolutions, 150×150 RGB input, 128-D output, 99.38 % reported on LFW), ported to Keras.
# Faces are found and aligned with MTCNN (Zhang et al., 2016). `encoder.encode` returns rows of
# unit length: $\lVert f(x) \rVert_2 = 1$.

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

import fr_utils
import workbook.prose
from workbook import data_path
from workbook.credits import credits

# %% tags=["parameters"]
people = [  # 8 LFW identities (deep-funneled photos)
    "Ariel_Sharon",
    "Arnold_Schwarzenegger",
    "Colin_Powell",
    "George_W_Bush",
    "Junichiro_Koizumi",
    "Laura_Bush",
    "Serena_Williams",
    "Vladimir_Putin",
]
photos_per_person = 4  # the first N photos of each person; photo 1 is the enrolment photo
n_timed_queries = 2  # queries answered both ways in the timing experiment

# %% [markdown]
# ## The photos
#
# The photos come from *Labeled Faces in the Wild* (LFW): Huang, Ramesh, Berg and
# Learned-Miller, "Labeled Faces in the Wild: A Database for Studying Face Recognition in
# Unconstrained Environments", UMass Amherst TR 07-49, 2007; deep-funneled version (Huang,
# Mattar, Lee and Learned-Miller, NIPS 2012). They are news photos: copyright stays with their
# photographers and agencies; UMass distributes them for research and teaching, with citation.
# The White House portrait used in the checks is a U.S. government work in the public domain
# (Pete Souza, 2012); see `faces/SOURCES.md` in the course data.

# %%
lfw = data_path("faces/lfw")
photo_paths, photo_names = [], []
for person in people:
    for number in range(1, photos_per_person + 1):
        photo_paths.append(lfw / person / f"{person}_{number:04d}.jpg")
        photo_names.append(person.replace("_", " "))
print(f"{len(photo_paths)} photos of {len(people)} people, e.g. {photo_paths[0].name}")

# %% [markdown]
# The network never sees the whole 250×250 photo. MTCNN finds the face and five landmarks
# (eyes, nose tip, mouth corners); a similarity transform maps them onto a fixed template and
# cuts out a 150×150 *chip*. Look at how the chip puts the eyes at the same place whatever the
# pose of the head in the photo.

# %%
encoder = fr_utils.load_face_model()
face = fr_utils.align_face(photo_paths[0], encoder.input_size, encoder.padding)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(5, 2.6))
ax1.imshow(fr_utils.load_image(photo_paths[0]))
ax1.plot(face.landmarks[:, 0], face.landmarks[:, 1], "c.", ms=6)
ax1.set_title("photo + landmarks", fontsize=9)
ax2.imshow(face.chip)
ax2.set_title(f"aligned chip {face.chip.shape[0]}×{face.chip.shape[1]}", fontsize=9)
for ax in (ax1, ax2):
    ax.axis("off")
fig.text(0.5, 0.01, "Photo: LFW (Huang et al. 2007)", ha="center", fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## One network, two inputs
#
# The encoder is a single `keras.Model`. "Siamese" does not mean two networks: it means we run
# the same weights on two inputs $x^{(1)}, x^{(2)}$ and compare the outputs
#
# $$d(x^{(1)}, x^{(2)}) = \lVert f(x^{(1)}) - f(x^{(2)}) \rVert_2 .$$
#
# Training (with the triplet loss of notebook 03) changes the weights so that $d$ is small for
# two photos of one person and large for two people. Encoding a batch of two chips gives the
# same rows as encoding each chip on its own: the batch axis just stacks the two inputs.
#
# `encoder.encode` adds one step of its own: it also encodes each chip's mirror image (left and
# right swapped) and returns the mean of the two encodings, rescaled to unit length. A face and
# its mirror image are the same person, but the network reads them a little differently (a
# shadow on one cheek, a landmark a pixel off), so the mean of the two looks is steadier;
# notebook 05 shows what it gains on LFW. `encoder.encode(chips, mirror=False)` gives one look,
# $f(x)$ itself. The last line below measures how far apart the two looks are.

# %%
other = fr_utils.align_face(photo_paths[1], encoder.input_size, encoder.padding)
pair = encoder.encode(np.stack([face.chip, other.chip]))
one_by_one = np.concatenate([encoder.encode(face.chip[None]), encoder.encode(other.chip[None])])
print(f"parameters: {encoder.model.count_params():,}; encodings: {pair.shape}")
print("same rows batched or one by one:", np.allclose(pair, one_by_one, atol=1e-5))
print("row norms:", np.round(np.linalg.norm(pair, axis=1), 3))
looks = [encoder.encode(chip[None], mirror=False) for chip in (face.chip, face.chip[:, ::-1])]
print(
    f"the chip and its mirror image, one look each: {np.linalg.norm(looks[0] - looks[1]):.3f} apart"
)


# %% [markdown]
# ---
# ## Exercise 1: `img_to_encoding` (2 points)
#
# Write `img_to_encoding(image_path, encoder)`: the whole path from a photo file to $f(x)$.
#
# 1. `fr_utils.align_face(image_path, encoder.input_size, encoder.padding)` detects the faces,
#    chooses the photo's subject (its most prominent confident face: large, near the middle)
#    and returns it as an `AlignedFace`; its `.chip` is a `(150, 150, 3)` uint8 array;
# 2. `encoder.encode(chips)` takes a **batch** `(n, 150, 150, 3)` and returns `(n, 128)`.
#
# Return the encoding as a batch of one, shape `(1, 128)`: the course's convention, so that
# encodings can be stacked into a database.


# %% nbgrader={"grade": false, "grade_id": "ex_img_to_encoding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def img_to_encoding(image_path, encoder):
    """Encode the subject of a photo (its most prominent confident face).

    Args:
        image_path: path of the photo (any size; the face is detected and aligned).
        encoder: the `FaceEncoder` from `fr_utils.load_face_model()`.

    Returns:
        (1, 128) float32 array of unit L2 norm.
    """
    ### BEGIN SOLUTION
    chip = fr_utils.align_face(image_path, encoder.input_size, encoder.padding).chip
    return encoder.encode(chip[None])
    ### END SOLUTION


# %% [markdown]
# The first photo should give shape `(1, 128)` and norm `1.0`:

# %%
first = img_to_encoding(photo_paths[0], encoder)
first.shape, round(float(np.linalg.norm(first)), 3)

# %% nbgrader={"grade": true, "grade_id": "check_img_to_encoding", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
"""Check that img_to_encoding() detects, aligns and encodes the face, as a (1, 128) batch."""
from fr_utils.checks.nb02 import check_img_to_encoding

check_img_to_encoding(img_to_encoding)


# %% [markdown]
# ## Exercise 2: a vectorised `distance_matrix` (3 points)
#
# Comparing $n$ query faces with $m$ database faces needs all $n \times m$ distances. Two
# Python loops would call NumPy $nm$ times; instead expand the square,
#
# $$\lVert a_i - b_j \rVert^2 = \lVert a_i\rVert^2 + \lVert b_j\rVert^2 - 2\, a_i \cdot b_j ,$$
#
# where all the dot products $a_i \cdot b_j$ are one matrix product `A @ B.T`, and the squared
# norms broadcast as a column `(n, 1)` and a row `(1, m)`.
#
# Return the **plain** L2 distance $\lVert a_i - b_j \rVert_2$, the square root. The lecture
# writes $d$ squared; both orderings of pairs are the same because the square root is
# increasing, so a threshold $\tau$ on the plain distance is the threshold $\tau^2$ on the
# squared one. We use the plain distance because `encoder.threshold` is calibrated on it.
#
# One trap: when $a_i = b_j$ the three terms cancel only up to float round-off, and the
# result can be $-10^{-7}$: its square root is `nan`. Clip at zero before the square root.
# No Python loops or comprehensions.


# %% nbgrader={"grade": false, "grade_id": "ex_distance_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def distance_matrix(A, B):
    """All pairwise L2 distances between the rows of A and the rows of B.

    Args:
        A: (n, 128) encodings.
        B: (m, 128) encodings.

    Returns:
        (n, m) array, D[i, j] = ||A[i] - B[j]||_2 (>= 0, never nan).
    """
    ### BEGIN SOLUTION
    A, B = np.asarray(A), np.asarray(B)
    d2 = np.sum(A**2, axis=1)[:, None] + np.sum(B**2, axis=1)[None, :] - 2.0 * A @ B.T
    return np.sqrt(np.maximum(d2, 0.0))
    ### END SOLUTION


# %% [markdown]
# Two orthogonal unit vectors are $\sqrt{2} \approx 1.414$ apart, and each is at 0 from
# itself; the result for `eye[:2]` against `eye[:3]` is a $2 \times 3$ matrix:

# %%
eye = np.eye(128)
np.round(distance_matrix(eye[:2], eye[:3]), 3)

# %% nbgrader={"grade": true, "grade_id": "check_distance_matrix", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
"""Check that distance_matrix() returns plain L2 distances, (n, m), clipped, without loops."""
from fr_utils.checks.nb02 import check_distance_matrix

check_distance_matrix(distance_matrix)
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(5).normal(size=(6, 128))
_y = np.random.default_rng(6).normal(size=(3, 128))
np.testing.assert_allclose(
    distance_matrix(_x, _y), np.linalg.norm(_x[:, None] - _y[None], axis=-1), rtol=1e-6
)
assert distance_matrix(_x, _x).min() >= 0.0, "distances are never negative"
### END HIDDEN TESTS

# %% [markdown]
# ## The distance matrix of 8 people
#
# Encode all photos with your `img_to_encoding` (detection dominates the time, see the last
# section), then compare every photo with every other one.

# %%
encodings = np.concatenate([img_to_encoding(path, encoder) for path in photo_paths])
D = distance_matrix(encodings, encodings)
print(f"encodings {encodings.shape}, distances {D.shape}; threshold {encoder.threshold}")

# %% [markdown]
# Here are the photos, one column per person (the central 150×150 pixels of each LFW photo, where
# the deep-funneled images put the face).

# %%
crops = [fr_utils.load_image(path)[50:200:2, 50:200:2] for path in photo_paths]
fig, axes = plt.subplots(
    photos_per_person, len(people), figsize=(0.95 * len(people), 1.0 * photos_per_person + 0.4)
)
for index, crop in enumerate(crops):  # every second pixel: 75x75 is plenty on screen
    ax = axes[index % photos_per_person, index // photos_per_person]
    ax.imshow(crop)
    ax.axis("off")
for column, person in enumerate(people):
    axes[0, column].set_title(person.replace("_", "\n", 1).replace("_", " "), fontsize=7)
fig.tight_layout()
print(credits("faces/lfw/"))

# %% [markdown]
# In the heatmap, row $i$, column $j$ is $d(x_i, x_j)$; the photos are grouped by person. Look
# for dark $4 \times 4$ blocks on the diagonal (photos of one person are close) on a bright
# background (different people are far apart); the white lines mark the blocks.

# %%
fig, ax = plt.subplots(figsize=(6.6, 5.6))
image = ax.imshow(D, cmap="viridis", vmin=0, vmax=float(D.max()))
ticks = np.arange(len(people)) * photos_per_person + (photos_per_person - 1) / 2
full_names = [p.replace("_", " ") for p in people]  # "Bush" alone would name two people
ax.set_xticks(ticks, full_names, rotation=40, ha="right", rotation_mode="anchor", fontsize=8)
ax.set_yticks(ticks, full_names, fontsize=8)
for edge in np.arange(1, len(people)) * photos_per_person - 0.5:
    ax.axhline(edge, color="w", lw=0.5)
    ax.axvline(edge, color="w", lw=0.5)
fig.colorbar(image, label="L2 distance")
ax.set_title("Distances between 128-D encodings")
fig.tight_layout()

# %% [markdown]
# The numbers behind the picture: distances within a person and between people, and how many
# pairs fall on the wrong side of the encoder's threshold.

# %%
labels = np.repeat(np.arange(len(people)), photos_per_person)
upper = np.triu(np.ones_like(D, dtype=bool), k=1)
same = (labels[:, None] == labels[None, :]) & upper
different = (labels[:, None] != labels[None, :]) & upper
print(f"same person:      mean {D[same].mean():.3f}, max {D[same].max():.3f}  ({same.sum()} pairs)")
print(
    f"different people: mean {D[different].mean():.3f}, min {D[different].min():.3f}"
    f"  ({different.sum()} pairs)"
)
print(
    f"same-person pairs above the threshold {encoder.threshold}: {(D[same] > encoder.threshold).sum()}"
)
print(f"different-people pairs below it: {(D[different] <= encoder.threshold).sum()}")

# %% [markdown]
# With unit-length encodings the distance is tied to the angle between them:
# $\lVert a - b \rVert^2 = 2 - 2\cos\theta$. So $d = \sqrt 2 \approx 1.41$ is a right angle,
# and the threshold is a narrow cone around each encoding:

# %%
angle = np.degrees(np.arccos(1 - encoder.threshold**2 / 2))
print(f"d <= {encoder.threshold} means an angle of at most {angle:.1f} degrees")

# %% [markdown]
# ## Precompute the database: the deployment trick
#
# At the door, the system compares each visitor with everybody in its database. The lecture's
# advice: encode the database photos **once**, at enrolment, and store the encodings. At query
# time only the visitor's photo goes through the network; the comparison is one small
# matrix product. Here the database holds photo 1 of each person, and the other photos are
# the visitors.

# %%
is_enrolment = np.arange(len(labels)) % photos_per_person == 0
database = {photo_names[i]: encodings[i : i + 1] for i in np.flatnonzero(is_enrolment)}
gallery = np.concatenate(list(database.values()))
queries = encodings[~is_enrolment]
nearest = distance_matrix(queries, gallery).argmin(axis=1)
correct = np.array(list(database))[nearest] == np.array(photo_names)[~is_enrolment]
print(f"database: {len(database)} people, {gallery.shape}; {len(queries)} visitors")
print(f"nearest enrolled person is the right one for {correct.sum()} of {len(queries)} visitors")

# %% [markdown]
# Now the time it saves. Without precomputing, every query re-encodes the whole database
# (detection, alignment and the network for each photo), then compares. With precomputing, a
# query costs one encoding and one `distance_matrix` call. The times depend on your machine,
# so this cell's output is not compared in tests.

# %%
# NBVAL_IGNORE_OUTPUT
enrolment_paths = [photo_paths[i] for i in np.flatnonzero(is_enrolment)]
visitor_paths = [photo_paths[i] for i in np.flatnonzero(~is_enrolment)][:n_timed_queries]

start = time.perf_counter()
for visitor in visitor_paths:  # naive: encode the database again for every visitor
    gallery_now = np.concatenate([img_to_encoding(p, encoder) for p in enrolment_paths])
    distance_matrix(img_to_encoding(visitor, encoder), gallery_now)
naive = (time.perf_counter() - start) / len(visitor_paths)

start = time.perf_counter()
for visitor in visitor_paths:  # precomputed: the database encodings are stored in `gallery`
    distance_matrix(img_to_encoding(visitor, encoder), gallery)
precomputed = (time.perf_counter() - start) / len(visitor_paths)

print(f"per query, encoding the database each time: {naive:.2f} s")
print(f"per query, with the precomputed database:   {precomputed:.2f} s")
print(f"speed-up: {naive / precomputed:.1f}x with {len(database)} people in the database")

# %% tags=["remove-input"]
# NBVAL_IGNORE_OUTPUT
m = len(database)
workbook.prose.show(
    f"A query's cost is almost all encoding: the naive way encodes $m + 1 = {m + 1}$ photos per"
    f" query, the precomputed way one, and here the speed-up was {naive / precomputed:.0f}×"
    f" ({naive:.2f} s against {precomputed:.2f} s per query on this machine; timings on a busy"
    " machine are noisy, but the naive cost grows with $m$ and the other does not). Comparing"
    " one 128-D vector with $m$ stored ones costs microseconds even for thousands of people."
)

# %% [markdown]
# A database of 10,000 employees, precomputed, still costs one encoding per visitor.
#
# ## Summary
#
# - A Siamese network is one encoder $f$ applied to two inputs; a face is represented by its
#   128-D encoding, and $d = \lVert f(x_1) - f(x_2) \rVert_2$ compares two faces.
# - Photos go through detection and alignment before the network: the encoder expects the
#   eyes and mouth at fixed places in a 150×150 chip.
# - `distance_matrix` computes all $n \times m$ distances with one matrix product; clip the
#   round-off before the square root.
# - Precompute the database encodings: a query then costs one encoding instead of $m + 1$.
#
# ## What to try next
#
# 1. Add a ninth person with a single photo and look at their row of the heatmap.
# 2. Replace `align_face` by a plain resize of the whole photo to 150×150 (no alignment):
#    how do the same-person distances change?
# 3. Time `distance_matrix` on 1,000 × 10,000 random unit vectors, and a double Python loop
#    on 100 × 1,000 of them. How many times faster is the vectorised version per distance?
