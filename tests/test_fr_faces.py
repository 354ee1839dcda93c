"""Which face a photo means: the subject rule, its confidence floor and ambiguous photos."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

import fr_utils
from fr_utils.detection import DetectedFace
from fr_utils.faces import (
    AMBIGUITY_RATIO,
    SUBJECT_MIN_CONFIDENCE,
    WEAK_MIN_CONFIDENCE,
    AmbiguousFaceError,
    AmbiguousFaceWarning,
    NoFaceFoundError,
    WeakFaceWarning,
    prominence,
    select_subject,
)
from workbook import data_path
from workbook.images import load_image

SHAPE = (400, 600, 3)  # a 600 x 400 photo: centre (300, 200), half-diagonal ~360.6
SUIT_PHOTO = "faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg"
# Two LFW people (not in any view-2 pair) whose photos show one face each.
PERSON_A = "faces/lfw/George_Clooney/George_Clooney_0006.jpg"
PERSON_B = "faces/lfw/Martha_Burk/Martha_Burk_0002.jpg"


def face(cx, cy, side, confidence=0.99):
    """A made-up detection: a square box of ``side`` pixels centred at (cx, cy)."""
    box = (cx - side / 2, cy - side / 2, side, side)
    return DetectedFace(box, confidence, np.zeros((5, 2)))


# ---------------------------------------------------------------- the rule, on made-up boxes
def test_prominence_is_size_discounted_by_distance_from_the_centre():
    centre, corner = face(300, 200, 100), face(0, 0, 100)
    assert prominence(centre, SHAPE) == pytest.approx(100)
    # a corner is one half-diagonal out: exp(-(1 / 0.75)^2 / 2) = 0.411
    assert prominence(corner, SHAPE) == pytest.approx(100 * np.exp(-0.5 / 0.75**2))
    assert prominence(face(300, 200, 200), SHAPE) == pytest.approx(200)


def test_the_subject_is_the_most_prominent_confident_face():
    big_off_centre = face(480, 200, 120)  # half a half-diagonal out: weight 0.80 -> 96
    small_central = face(300, 200, 80)
    assert (
        select_subject([small_central, big_off_centre], SHAPE, ambiguous="ignore") is big_off_centre
    )
    # a face in the far corner must be much larger to win over a central one
    assert select_subject([face(10, 10, 110), small_central], SHAPE) is small_central
    weak_but_huge = face(300, 200, 300, confidence=SUBJECT_MIN_CONFIDENCE - 0.01)
    assert select_subject([weak_but_huge, small_central], SHAPE) is small_central


def test_no_face_raises_and_says_why():
    with pytest.raises(NoFaceFoundError, match="No face found in the photo"):
        select_subject([], SHAPE)
    assert issubclass(NoFaceFoundError, ValueError)
    too_weak = face(300, 200, 60, confidence=WEAK_MIN_CONFIDENCE - 0.01)
    with pytest.raises(NoFaceFoundError, match=r"candidates score 0\.790, below 0\.9"):
        select_subject([too_weak], SHAPE)


def test_without_a_confident_face_the_most_prominent_weak_face_is_used_with_a_warning():
    small, large = face(300, 200, 40, confidence=0.85), face(300, 200, 90, confidence=0.82)
    with pytest.warns(WeakFaceWarning, match=r"No confident face in the photo .*0\.850, 0\.820"):
        assert select_subject([small, large], SHAPE) is large
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert select_subject([small, large], SHAPE, weak="ignore") is large
        # a lower confidence floor makes a weak face confident: no warning then
        assert select_subject([small, large], SHAPE, min_confidence=0.8) is large
    with pytest.raises(NoFaceFoundError, match=r"candidates score 0\.850, 0\.820, below 0\.9"):
        select_subject([small, large], SHAPE, weak="raise")
    with pytest.raises(ValueError, match="weak must be one of"):
        select_subject([large], SHAPE, weak="use")


def test_comparable_faces_warn_raise_or_are_ignored_as_asked():
    left, right = face(200, 200, 100), face(400, 200, 100 * (AMBIGUITY_RATIO + 0.05))
    with pytest.warns(AmbiguousFaceWarning, match="2 faces of comparable prominence in the photo"):
        assert select_subject([right, left], SHAPE) is left
    with pytest.raises(AmbiguousFaceError, match="comparable prominence") as raised:
        select_subject([right, left], SHAPE, ambiguous="raise")
    assert raised.value.faces == [left, right] and isinstance(raised.value, ValueError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert select_subject([right, left], SHAPE, ambiguous="ignore") is left
        # a clearly smaller second face is no ambiguity at all
        clear = face(400, 200, 100 * (AMBIGUITY_RATIO - 0.05))
        assert select_subject([clear, left], SHAPE, ambiguous="raise") is left
    with pytest.raises(ValueError, match="ambiguous must be one of"):
        select_subject([left], SHAPE, ambiguous="first")


def test_only_confident_faces_can_make_a_photo_ambiguous():
    subject, weak_twin = face(200, 200, 100), face(400, 200, 100, confidence=0.85)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert select_subject([weak_twin, subject], SHAPE, ambiguous="raise") is subject


def test_unknown_alignment_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="choose one of 'mtcnn', 'dlib'"):
        fr_utils.align_face(np.zeros((64, 64, 3), np.uint8), alignment="dlib68")


# ---------------------------------------------------------------- real photos
@pytest.fixture(scope="module")
def encoder():
    return fr_utils.load_face_model()


def side_by_side(left: str, right: str, right_scale: float) -> np.ndarray:
    """Two 250x250 LFW photos side by side on a 500x250 grey canvas, the right one scaled.

    Both faces sit at the same distance from the canvas centre, so only their sizes differ.
    """
    canvas = Image.new("RGB", (500, 250), (128, 128, 128))
    canvas.paste(Image.fromarray(load_image(data_path(left))), (0, 0))
    side = round(250 * right_scale)
    scaled = Image.fromarray(load_image(data_path(right))).resize((side, side), Image.LANCZOS)
    canvas.paste(scaled, (375 - side // 2, 125 - side // 2))
    return np.asarray(canvas)


@pytest.mark.slow
@pytest.mark.parametrize("big, small", [(PERSON_A, PERSON_B), (PERSON_B, PERSON_A)])
@pytest.mark.parametrize("scale", [0.4, 0.6])
def test_a_clearly_larger_face_is_the_subject_without_a_warning(encoder, big, small, scale):
    photo = side_by_side(big, small, scale)
    assert len(fr_utils.align_faces(photo, min_confidence=SUBJECT_MIN_CONFIDENCE)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", AmbiguousFaceWarning)
        encoding = fr_utils.img_to_encoding(photo, encoder, ambiguous="raise")
    own = fr_utils.img_to_encoding(data_path(big), encoder)
    other = fr_utils.img_to_encoding(data_path(small), encoder)
    assert np.linalg.norm(encoding - own) < 0.2 < np.linalg.norm(encoding - other)


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1.0, 0.9])
def test_two_comparable_faces_warn_or_raise(encoder, scale):
    photo = side_by_side(PERSON_A, PERSON_B, scale)
    with pytest.warns(AmbiguousFaceWarning, match="2 faces of comparable prominence"):
        chosen = fr_utils.align_face(photo)
    faces = fr_utils.align_faces(photo)
    assert chosen.box == faces[0].box and faces[0].prominence >= faces[1].prominence
    with pytest.raises(AmbiguousFaceError) as raised:
        fr_utils.img_to_encoding(photo, encoder, ambiguous="raise")
    assert len(raised.value.faces) == 2
    database = fr_utils.FaceDatabase()
    with pytest.raises(AmbiguousFaceError):
        database.enroll("Nobody knows", photo, encoder, ambiguous="raise")
    assert len(database) == 0


@pytest.mark.slow
def test_the_suit_is_detected_but_is_never_the_subject(encoder):
    photo = load_image(data_path(SUIT_PHOTO))
    faces = fr_utils.align_faces(photo)
    suit = [f for f in faces if f.confidence < SUBJECT_MIN_CONFIDENCE]
    assert len(faces) == 2 and len(suit) == 1
    assert suit[0].confidence == pytest.approx(0.817, abs=0.01)
    assert suit[0].box[1] > 0.8 * photo.shape[0]  # the "face" is on the jacket, low down
    confident = fr_utils.align_faces(photo, min_confidence=SUBJECT_MIN_CONFIDENCE)
    assert len(confident) == 1 and confident[0].box == fr_utils.align_face(photo).box
    # alone, the suit would be a weak subject: used with a warning that says it may be false
    with pytest.warns(WeakFaceWarning, match="may be a false face"):
        assert select_subject([suit[0]], photo.shape) is suit[0]
    with pytest.raises(NoFaceFoundError, match="No confident face") as raised:
        select_subject([suit[0]], photo.shape, weak="raise")
    # the message says how to use a weak candidate anyway (real faces score 0.82-0.89 too),
    # and the way it names works
    assert "align_faces(photo)" in str(raised.value) and "aligned=True" in str(raised.value)
    chosen = fr_utils.img_to_encoding(suit[0].chip, encoder, aligned=True)
    assert chosen.shape == (1, 128) and np.isclose(np.linalg.norm(chosen), 1.0)


# An LFW photo (in no view-2 pair) whose only face MTCNN is unsure of (0.893): a real face.
WEAK_PHOTO = "faces/lfw/Gennifer_Flowers/Gennifer_Flowers_0001.jpg"


@pytest.mark.slow
def test_a_real_face_the_detector_is_unsure_of_is_encoded_with_a_warning(encoder):
    photo = load_image(data_path(WEAK_PHOTO))
    (only,) = fr_utils.align_faces(photo)
    assert WEAK_MIN_CONFIDENCE <= only.confidence < SUBJECT_MIN_CONFIDENCE
    x, y, width, height = only.box  # LFW centres the person: the weak face is that person
    assert abs(x + width / 2 - 125) < 20 and abs(y + height / 2 - 125) < 20
    with pytest.warns(WeakFaceWarning, match="Gennifer_Flowers_0001.jpg"):
        encoding = fr_utils.img_to_encoding(data_path(WEAK_PHOTO), encoder)
    expected = fr_utils.img_to_encoding(only.chip, encoder, aligned=True)
    np.testing.assert_allclose(encoding, expected, atol=1e-6)
    with pytest.raises(NoFaceFoundError, match="No confident face"):
        fr_utils.img_to_encoding(photo, encoder, weak="raise")
    database = fr_utils.FaceDatabase()
    with pytest.raises(NoFaceFoundError):
        database.enroll("Gennifer Flowers", [data_path(WEAK_PHOTO)], encoder, weak="raise")
    assert len(database) == 0
