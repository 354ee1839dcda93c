"""Checks for the exercises of notebook 02 (Siamese network: encodings and distances).

Each ``check_*`` function runs a student's function on fresh inputs, compares it with the
reference (`fr_utils.img_to_encoding`, and plain L2 distances), and raises
`workbook.CheckFailed` with a sentence naming the likely mistake. It prints one
"All checks passed" line when everything matches.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np

from fr_utils.lessons.one_shot import squared_distance_matrix
from workbook.checking import (
    CheckFailed,
    as_array,
    expect_close,
    expect_shape,
    passed,
    random_unit_rows,
)

__all__ = ["check_distance_matrix", "check_img_to_encoding", "reference_distance_matrix"]

# Two photos the check encodes: a public-domain portrait and a deep-funneled LFW photo.
_CHECK_PHOTOS = (
    "faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg",
    "faces/lfw/Colin_Powell/Colin_Powell_0001.jpg",
)


def reference_distance_matrix(a, b) -> np.ndarray:
    """Return ``D[i, j] = ||a_i - b_j||_2`` (plain, not squared) for ``a (n, d)``, ``b (m, d)``."""
    return np.sqrt(squared_distance_matrix(a, b))


def check_img_to_encoding(img_to_encoding) -> None:
    """Check ``img_to_encoding(image_path, encoder)`` against `fr_utils.img_to_encoding`.

    Loads the shared encoder and encodes two photos (a 2012 White House portrait and an
    LFW photo) with both functions; they must agree to float32 round-off.
    """
    import fr_utils
    from workbook import data_path

    face_encoder = fr_utils.load_face_model()
    for relative in _CHECK_PHOTOS:
        photo_path = data_path(relative)
        what = f"img_to_encoding('{photo_path.name}', encoder)"
        try:
            got = img_to_encoding(str(photo_path), face_encoder)
        except ValueError as error:
            if "aligned chips" in str(error):
                raise CheckFailed(
                    f"{what} passed the whole photo to encoder.encode, which takes aligned"
                    " 150x150 face chips: detect and align the face first with"
                    " fr_utils.align_face(image_path).chip."
                ) from None
            raise
        got = as_array(got, what)
        if got.shape == (128,):
            raise CheckFailed(
                f"{what} should return a batch of one encoding, shape (1, 128); you returned"
                " shape (128,). Keep the batch dimension: encoder.encode(chip[None]) already"
                " returns (1, 128)."
            )
        expect_shape(got, (1, 128), what)
        expected = fr_utils.img_to_encoding(photo_path, face_encoder)
        norm = float(np.linalg.norm(got))
        if not np.isclose(norm, 1.0, atol=1e-3):
            raise CheckFailed(
                f"{what} should have unit L2 norm (encoder.encode returns unit rows); yours has"
                f" norm {norm:.4g}. Return the encoder's output unchanged."
            )
        expect_close(
            got,
            expected,
            what,
            hint="Use the chip of fr_utils.align_face(image_path) (the photo's subject), encoded"
            " by encoder.encode.",
            rtol=1e-3,
            atol=1e-4,
        )
    passed("img_to_encoding")


def _uses_python_loops(function) -> bool | None:
    """True if the function's source has a for/while loop or a comprehension; None if unknown."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):  # defined where the source is not kept (exec of a string)
        return None
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)
    return any(isinstance(node, loops) for node in ast.walk(ast.parse(source)))


def check_distance_matrix(distance_matrix) -> None:
    """Check ``distance_matrix(A, B)``: plain L2 distances, shape ``(n, m)``, no NaN, no loops."""
    e = np.eye(128, dtype=np.float32)
    small = as_array(distance_matrix(e[:2], e[:3]), "distance_matrix(A, B)")
    expect_shape(
        small,
        (2, 3),
        "distance_matrix(A, B) for A of shape (2, 128) and B of shape (3, 128)",
        hint="Row i, column j holds the distance between A[i] and B[j]: broadcast the squared"
        " norms as a column (n, 1) and a row (1, m).",
    )
    if np.isclose(small[0, 1], 2.0):
        raise CheckFailed(
            "distance_matrix of two orthogonal unit vectors should be sqrt(2) = 1.414; you"
            " returned 2.0, the squared distance. Take the square root: the encoder's"
            " threshold is on the plain L2 distance."
        )
    expect_close(small, [[0, 2**0.5, 2**0.5], [2**0.5, 0, 2**0.5]], "distance_matrix(e[:2], e[:3])")

    rng = np.random.default_rng(11)
    queries, gallery = random_unit_rows(rng, 5), random_unit_rows(rng, 7)
    got = distance_matrix(queries, gallery)
    expected = reference_distance_matrix(queries, gallery)
    expect_shape(
        got,
        (5, 7),
        "distance_matrix(A, B) for A (5, 128) and B (7, 128)",
        hint="Rows follow A and columns follow B.",
    )
    expect_close(got, expected, "distance_matrix(A, B)", rtol=1e-4, atol=1e-4)

    # Many unit rows in float32: ||a||^2 + ||a||^2 - 2 a.a rounds below zero on some rows.
    rows = random_unit_rows(np.random.default_rng(1), 128)
    with np.errstate(invalid="ignore"):
        self_distances = as_array(distance_matrix(rows, rows), "distance_matrix(A, A)")
    diagonal = np.diag(self_distances)
    if not np.isfinite(self_distances).all():
        raise CheckFailed(
            "distance_matrix(A, A) contains NaN: round-off makes ||a||^2 + ||b||^2 - 2 a.b"
            " slightly negative when a == b, and sqrt of a negative number is NaN. Clip at"
            " zero before the square root: np.sqrt(np.maximum(d2, 0))."
        )
    if np.abs(diagonal).max() > 2e-3:
        raise CheckFailed(
            "distance_matrix(A, A) should be 0 on the diagonal (every face is at distance 0"
            f" from itself); the largest diagonal value is {np.abs(diagonal).max():.3g}."
        )
    if _uses_python_loops(distance_matrix):
        raise CheckFailed(
            "distance_matrix gives the right numbers but uses a Python loop or comprehension."
            " Vectorise it: one matrix product A @ B.T and broadcasting of the squared norms."
        )
    passed("distance_matrix")
