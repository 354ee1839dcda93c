"""Test-time averaging: jitters (dlib's ``num_jitters``: the jitters, their determinism, the
encoder option) and the mirror image (`FaceEncoder.mirror`, `fr_utils.faces.mirror_for`)."""

from __future__ import annotations

import numpy as np
import pytest

import fr_utils
from fr_utils.alignment import jitter_chips, jitter_transforms
from workbook import data_path


def _parts(maps):
    """Scale, rotation (degrees), mirrored flag and centre shift of each jitter map."""
    linear = maps[:, :, :2]
    det = np.linalg.det(linear)
    scale = np.sqrt(np.abs(det))
    mirrored = det < 0
    angle = np.degrees(np.arctan2(linear[:, 1, 0], np.abs(linear[:, 0, 0])))
    centre = maps[:, :, :2] @ np.array([74.5, 74.5]) + maps[:, :, 2]
    return scale, angle, mirrored, centre - 74.5


def test_jitters_follow_dlibs_ranges():
    scale, angle, mirrored, shift = _parts(jitter_transforms(2000, 150, seed=3))
    # the crop is the 144-pixel inner square divided by a zoom in [0.97, 1): 144..148 pixels
    assert np.all((scale >= 143 / 149 - 1e-9) & (scale <= 147 / 149 + 1e-9))
    assert np.abs(angle).max() <= 3 + 1e-9 and np.abs(angle).max() > 2.9
    assert 0.45 < mirrored.mean() < 0.55
    # whole-pixel moves of at most 2% of 144 px (<= 3 px), plus dlib's half-pixel centring
    assert np.abs(shift).max() <= 3.5 + 1e-9


def test_jitters_are_deterministic_per_seed():
    np.testing.assert_array_equal(jitter_transforms(5, seed=7), jitter_transforms(5, seed=7))
    assert not np.allclose(jitter_transforms(5, seed=7), jitter_transforms(5, seed=8))
    assert jitter_transforms(0).shape == (0, 2, 3)
    with pytest.raises(ValueError, match="num_jitters >= 0"):
        jitter_transforms(-1)


def test_jittered_copies_look_like_the_chip_moved_a_little():
    ramp = np.tile(np.linspace(0, 255, 150, dtype=np.float32)[None, :, None], (150, 1, 3))
    copies = jitter_chips(ramp, 40, seed=0)
    assert copies.shape == (1, 40, 150, 150, 3) and copies.dtype == np.float32
    _, _, mirrored, _ = _parts(jitter_transforms(40, seed=0))
    centre = copies[0, :, 60:90, 60:90, 0]
    slope = (centre[:, :, -1] - centre[:, :, 0]).mean(axis=1)
    assert np.all(slope[mirrored] < 0) and np.all(slope[~mirrored] > 0)  # mirrored = reversed
    # the middle of the chip stays the middle, within a few pixels
    assert np.abs(copies[0, :, 75, 75, 0] - 255 * 75 / 149).max() < 255 * 5 / 149
    flat = np.full((150, 150, 3), 200, np.uint8)
    inner = jitter_chips(flat, 10)[0, :, 10:140, 10:140]
    np.testing.assert_allclose(inner, 200, atol=1e-3)  # only the borders may turn black


@pytest.fixture(scope="module")
def encoder():
    return fr_utils.load_face_model()


@pytest.fixture(scope="module")
def chips():
    photos = ["George_W_Bush/George_W_Bush_0001.jpg", "Martha_Burk/Martha_Burk_0002.jpg"]
    root = data_path("faces/lfw")
    return np.stack([fr_utils.align_face(root / photo).chip for photo in photos])


@pytest.mark.slow
def test_zero_or_one_jitter_is_the_plain_encoding(encoder, chips):
    plain = encoder.encode(chips)
    np.testing.assert_array_equal(encoder.encode(chips, num_jitters=0), plain)
    np.testing.assert_array_equal(encoder.encode(chips, num_jitters=1), plain)
    path = data_path("faces/lfw/George_W_Bush/George_W_Bush_0001.jpg")
    np.testing.assert_array_equal(
        fr_utils.img_to_encoding(path, encoder, num_jitters=0), encoder.encode(chips[:1])
    )


@pytest.mark.slow
def test_jittered_encoding_is_the_renormalised_mean_over_copies(encoder, chips):
    jittered = encoder.encode(chips, num_jitters=4, jitter_seed=5, mirror=False)
    assert jittered.shape == (2, 128)
    np.testing.assert_allclose(np.linalg.norm(jittered, axis=1), 1, atol=1e-6)
    copies = jitter_chips(chips, 4, seed=5).reshape(-1, 150, 150, 3)
    mean = encoder.encode(copies, mirror=False).reshape(2, 4, 128).mean(axis=1)
    np.testing.assert_allclose(jittered, _unit(mean), atol=1e-6)
    # the jittered encoding is near the plain one (same face), but not equal
    distance = np.linalg.norm(jittered - encoder.encode(chips, mirror=False), axis=1)
    assert np.all((distance > 1e-3) & (distance < 0.2))


def _unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.slow
def test_the_default_encoding_averages_the_chip_and_its_mirror_image(encoder, chips):
    assert encoder.mirror
    plain = encoder.encode(chips, mirror=False)
    mirrored = encoder.encode(chips[:, :, ::-1], mirror=False)
    both = encoder.encode(chips)
    np.testing.assert_allclose(both, _unit(plain + mirrored), atol=1e-6)
    np.testing.assert_array_equal(both, encoder.encode(chips, mirror=True))
    # a face and its mirror image are close (same person) but not the same encoding
    assert np.all(np.linalg.norm(plain - mirrored, axis=1) > 1e-2)
    # with jitters: the chip and its mirror image get the same jitters, the means averaged
    jittered = encoder.encode(chips, num_jitters=3, jitter_seed=2)
    halves = [encoder.encode(c, num_jitters=3, jitter_seed=2, mirror=False)
              for c in (chips, chips[:, :, ::-1])]  # fmt: skip
    np.testing.assert_allclose(jittered, _unit(halves[0] + halves[1]), atol=1e-6)


@pytest.mark.slow
def test_only_the_dlib_alignment_is_encoded_without_its_mirror_image(encoder):
    path = data_path("faces/lfw/Martha_Burk/Martha_Burk_0002.jpg")
    for alignment, mirror in (("mtcnn", True), ("dlib", False)):
        assert fr_utils.faces.mirror_for(alignment) is mirror
        face = fr_utils.align_face(path, alignment=alignment)
        expected = encoder.encode(face.chip, mirror=mirror)
        np.testing.assert_allclose(
            fr_utils.img_to_encoding(path, encoder, alignment=alignment), expected, atol=1e-6
        )
        np.testing.assert_allclose(
            fr_utils.img_to_encoding(face.chip, encoder, aligned=True, alignment=alignment),
            expected,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            fr_utils.faces.encode_faces([face], encoder), expected, atol=1e-6
        )
    mixed = [fr_utils.align_face(path, alignment=a) for a in ("mtcnn", "dlib")]
    with pytest.raises(ValueError, match="different alignments"):
        fr_utils.faces.encode_faces(mixed, encoder)
    assert fr_utils.faces.encode_faces([], encoder).shape == (0, 128)


@pytest.mark.slow
def test_jitter_is_deterministic_and_independent_of_batching(encoder, chips):
    first = encoder.encode(chips, num_jitters=3, jitter_seed=1)
    np.testing.assert_array_equal(first, encoder.encode(chips, num_jitters=3, jitter_seed=1))
    alone = encoder.encode(chips[1], num_jitters=3, jitter_seed=1, batch_size=2)
    np.testing.assert_allclose(alone[0], first[1], atol=1e-6)
    other_seed = encoder.encode(chips, num_jitters=3, jitter_seed=2)
    assert np.linalg.norm(other_seed - first, axis=1).min() > 1e-4


@pytest.mark.parametrize("bad", [-1, 2.5, True, "3"])
def test_bad_num_jitters_are_refused(bad):
    from fr_utils.encoder import _check_jitters

    with pytest.raises(ValueError, match="num_jitters must be a whole number"):
        _check_jitters(bad)
