"""Image loading, the alignment template, the similarity transform, chip extraction, detection."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fr_utils.alignment import MEAN_FACE_5, chip_landmarks, extract_chip, similarity_transform
from workbook import data_path
from workbook.images import load_image, to_uint8_rgb

PORTRAIT = "faces/public_domain/Barack_Obama/obama_official_portrait_2012.jpg"
BIDEN = "faces/public_domain/Joe_Biden/biden_official_vp_portrait_2013.jpg"


# ---------------------------------------------------------------- the template
def test_template_comes_from_dlibs_mean_face():
    left_eye, right_eye, nose, mouth_left, mouth_right = MEAN_FACE_5
    # eye centres = means of iBUG points 36-41 and 42-47 of dlib's mean face
    np.testing.assert_allclose(left_eye, [1.352951 / 6, 1.295942 / 6], atol=1e-6)
    np.testing.assert_allclose(nose, [0.490127, 0.515625])
    np.testing.assert_allclose(mouth_left, [0.254149, 0.780233])
    # the face is symmetric about x = 0.490127 and the eyes are level
    np.testing.assert_allclose(left_eye[0] + right_eye[0], 2 * 0.490127, atol=1e-5)
    np.testing.assert_allclose(mouth_left[0] + mouth_right[0], 2 * 0.490127, atol=1e-5)
    assert abs(left_eye[1] - right_eye[1]) < 1e-6


def test_chip_landmarks_apply_dlibs_padding():
    points = chip_landmarks(150, 0.25)
    np.testing.assert_allclose(points, (0.25 + MEAN_FACE_5) / 1.5 * 150)
    np.testing.assert_allclose(chip_landmarks(100, 0.0), MEAN_FACE_5 * 100)
    with pytest.raises(ValueError):
        chip_landmarks(150, -0.1)


# ---------------------------------------------------------------- similarity transform
def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    angle, scale, shift = 0.4, 2.5, np.array([30.0, -12.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    source = rng.uniform(0, 150, (5, 2))
    target = scale * source @ rotation.T + shift
    matrix = similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_similarity_transform_is_least_squares_and_never_reflects():
    source = np.array([[0.0, 0], [1, 0], [0, 1]])
    mirrored = source * [-1, 1]  # a reflection cannot be fitted by a rotation
    matrix = similarity_transform(source, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0
    with pytest.raises(ValueError, match="coincide"):
        similarity_transform(np.ones((5, 2)), np.zeros((5, 2)))


def _dots(shape, points, radius=3):
    image = np.zeros(shape + (3,), np.uint8)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    for x, y in points:
        image[(xs - x) ** 2 + (ys - y) ** 2 <= radius**2] = 255
    return image


def _blob_centres(chip, expected, window=8):
    gray = chip.astype(float).mean(axis=2)
    ys, xs = np.mgrid[0 : chip.shape[0], 0 : chip.shape[1]]
    centres = []
    for x, y in expected:
        near = (np.abs(xs - x) <= window) & (np.abs(ys - y) <= window)
        weight = gray * near
        centres.append([(weight * xs).sum() / weight.sum(), (weight * ys).sum() / weight.sum()])
    return np.array(centres)


@pytest.mark.parametrize("scale", [1.2, 3.0])  # 3.0 goes through the box-downscaling path
def test_extract_chip_puts_the_landmarks_on_the_template(scale):
    angle = np.deg2rad(25)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    template = chip_landmarks(150, 0.25)
    landmarks = scale * template @ rotation.T + [300, 40]  # where the face sits in the photo
    photo = _dots((700, 800), landmarks, radius=2.5 * scale)
    chip, transform = extract_chip(photo, landmarks)
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    np.testing.assert_allclose(_blob_centres(chip, template), template, atol=0.6)
    np.testing.assert_allclose(
        template @ transform[:, :2].T + transform[:, 2], landmarks, atol=1e-6
    )


def test_extract_chip_fills_outside_the_photo_with_black():
    landmarks = chip_landmarks(150, 0.25) - 60  # face half outside the top-left corner
    chip, _ = extract_chip(np.full((200, 200, 3), 200, np.uint8), landmarks)
    assert chip[0, 0].max() == 0 and chip[-1, -1].min() == 200


# ---------------------------------------------------------------- image loading
def test_exif_orientation_is_applied(tmp_path):
    upright = np.zeros((40, 60, 3), np.uint8)
    upright[:10, :, 0] = 255  # red band at the top
    stored = Image.fromarray(np.rot90(upright, k=1))  # camera stored it rotated
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    stored.save(tmp_path / "rotated.png", exif=exif.tobytes())
    np.testing.assert_array_equal(load_image(tmp_path / "rotated.png"), upright)


@pytest.mark.parametrize(
    "mode, value, expected",
    [
        ("L", 100, (100, 100, 100)),
        ("RGBA", (10, 20, 30, 255), (10, 20, 30)),
        ("RGBA", (10, 20, 30, 0), (255, 255, 255)),  # transparent -> white background
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
        ("I;16", 65535, (255, 255, 255)),
        ("I;16", 32896, (128, 128, 128)),
    ],
)
def test_image_modes_become_uint8_rgb(tmp_path, mode, value, expected):
    path = tmp_path / ("image.tif" if mode in ("CMYK", "I;16") else "image.png")
    Image.new(mode, (8, 6), value).save(path)
    loaded = load_image(path)
    assert loaded.shape == (6, 8, 3) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded[0, 0], expected)


def test_arrays_are_converted():
    assert to_uint8_rgb(np.full((4, 5), 0.5)).tolist()[0][0] == [128, 128, 128]
    assert to_uint8_rgb(np.full((4, 5, 4), 65535, np.uint16))[0, 0].tolist() == [255] * 3
    with pytest.raises(ValueError, match="shape"):
        to_uint8_rgb(np.zeros((4, 5, 2)))


def test_bad_files_raise_value_error_naming_the_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    original = (data_path(PORTRAIT)).read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(original[: len(original) // 3])
    for path in (empty, text, truncated):
        with pytest.raises(ValueError, match=path.name):
            load_image(path)
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        load_image(tmp_path / "missing.jpg")


# ---------------------------------------------------------------- detection (real photos)
@pytest.mark.slow
def test_detection_finds_the_face_and_its_landmarks():
    from fr_utils.detection import detect_faces

    photo = load_image(data_path(PORTRAIT))
    faces = detect_faces(photo)
    assert faces and faces[0].confidence > 0.95
    x, y, w, h = faces[0].box
    eyes, nose, mouths = faces[0].landmarks[:2], faces[0].landmarks[2], faces[0].landmarks[3:]
    assert ((faces[0].landmarks >= [x, y]) & (faces[0].landmarks <= [x + w, y + h])).all()
    assert eyes[0, 0] < eyes[1, 0] and mouths[0, 0] < mouths[1, 0]  # left/right as in the image
    assert eyes[:, 1].max() < nose[1] < mouths[:, 1].min()  # eyes above nose above mouth
    assert [f.area for f in faces] == sorted((f.area for f in faces), reverse=True)


@pytest.mark.slow
def test_several_faces_most_prominent_first_and_very_large_photos():
    import fr_utils

    big = load_image(data_path(PORTRAIT))
    small = np.asarray(Image.fromarray(load_image(data_path(BIDEN))).resize((300, 300)))
    canvas = np.full((1200, 1500, 3), 128, np.uint8)
    canvas[: big.shape[0], : big.shape[1]] = big
    canvas[800:1100, 1150:1450] = small
    faces = fr_utils.align_faces(canvas)
    assert len(faces) >= 2
    encoder = fr_utils.load_face_model()
    enc = encoder.encode(np.stack([f.chip for f in faces]))
    obama = fr_utils.img_to_encoding(data_path(PORTRAIT), encoder)
    biden = fr_utils.img_to_encoding(data_path(BIDEN), encoder)
    assert np.linalg.norm(enc[0] - obama) < 0.1  # the most prominent face comes first
    assert min(np.linalg.norm(e - biden) for e in enc[1:]) < 0.25  # the smaller one is exposed

    # 4x upscaled (about 3600x4500): detected on a downscaled copy, chip cut from the original
    huge = Image.fromarray(big).resize(
        (big.shape[1] * 4, big.shape[0] * 4), Image.Resampling.BICUBIC
    )
    face = fr_utils.align_face(huge)
    assert face.box[2] > 4 * 0.8 * fr_utils.align_face(big).box[2]
    assert np.linalg.norm(encoder.encode(face.chip) - obama) < 0.12
