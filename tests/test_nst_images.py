"""Image loading, resizing and saving: the awkward files people actually have."""

import json

import numpy as np
import pytest
from PIL import Image

from nst_utils import MIN_SIDE, load_float_image, resize_image, save_image, to_uint8
from workbook import data_path


def test_load_real_photo_and_resize_long_side():
    rgb = load_float_image(data_path("photos/bern_from_north.jpg"), size=128)
    assert rgb.dtype == np.float32 and rgb.shape == (97, 128, 3)  # 728x551 source
    assert 0 <= rgb.min() and rgb.max() <= 255
    portrait = load_float_image(data_path("art/the_scream.jpg"), size=100)  # 804x1024 source
    assert portrait.shape == (100, 79, 3)


def test_exif_orientation_is_applied(tmp_path):
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :20] = (255, 0, 0)  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(array).save(path, exif=exif, quality=95)
    rgb = load_float_image(path)
    assert rgb.shape == (40, 20, 3)
    assert rgb[:15, :, 0].mean() > 200 and rgb[25:, :, 0].mean() < 50  # red is now on top


def test_rgba_is_composited_on_white_and_grayscale_becomes_rgb(tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[:16] = (0, 0, 255, 255)  # top: opaque blue; bottom: fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    rgb = load_float_image(tmp_path / "a.png")
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 255])
    np.testing.assert_array_equal(rgb[-1, -1], [255, 255, 255])
    gray = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) % 256
    Image.fromarray(gray.astype(np.uint8), "L").save(tmp_path / "g.png")
    rgb = load_float_image(tmp_path / "g.png")
    assert rgb.shape == (32, 32, 3)
    np.testing.assert_array_equal(rgb[..., 0], rgb[..., 2])
    Image.fromarray(gray.astype(np.uint8), "L").convert("P").save(tmp_path / "p.png")
    assert load_float_image(tmp_path / "p.png").shape == (32, 32, 3)
    assert load_float_image(np.zeros((20, 24), np.uint8)).shape == (20, 24, 3)


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        load_float_image(tmp_path / "missing.jpg")
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        load_float_image(tmp_path / "notes.jpg")
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(ValueError, match=f"at least {MIN_SIDE}x{MIN_SIDE}"):
        load_float_image(tmp_path / "dot.png", size=64)
    for size in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="positive"):
            load_float_image(data_path("art/starry_night.jpg"), size=size)
    with pytest.raises(ValueError, match="at least"):
        resize_image(np.zeros((20, 400, 3)), 100)  # the short side would be 5 px
    with pytest.raises(ValueError, match="HxWx3"):
        load_float_image(np.zeros((20, 20, 5)))


def test_save_png_with_metadata_atomically(tmp_path):
    rgb = np.linspace(0, 255, 20 * 30 * 3, dtype=np.float32).reshape(20, 30, 3)
    path = save_image(tmp_path / "out.png", rgb, {"steps": 3, "alpha": 10.0})
    with Image.open(path) as image:
        assert image.size == (30, 20) and image.mode == "RGB"
        assert json.loads(image.text["nst_utils"]) == {"alpha": 10.0, "steps": 3}
        np.testing.assert_array_equal(np.asarray(image), to_uint8(rgb))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary left behind
    with pytest.raises(ValueError, match=".png"):
        save_image(tmp_path / "out.jpg", rgb)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_image(tmp_path / "no" / "out.png", rgb)


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(to_uint8([-3.0, 0.4, 0.6, 254.6, 300.0]), [0, 0, 1, 255, 255])


def test_every_shared_image_has_a_credit_matching_sources():
    from nst_utils import CREDITS, SHARE_ALIKE, credits

    sources = data_path("SOURCES-media.md").read_text()
    shared = {
        f"{p.parent.name}/{p.name}" for d in ("art", "photos") for p in data_path(d).iterdir()
    }
    assert set(CREDITS) == shared
    for name, line in CREDITS.items():
        if name.startswith("photos/") and "NASA" not in line:
            title, author = line.split('" by ')[0] + '"', line.split(" by ")[1].split(",")[0]
            assert f"{title} by {author}" in sources.replace("\n", " ")
    assert "ShareAlike" in credits("photos/chiffchaff_bird.jpg")
    assert "ShareAlike" not in credits("photos/bern_from_north.jpg", "art/starry_night.jpg")
    assert SHARE_ALIKE < set(CREDITS)
    with pytest.raises(KeyError, match="known"):
        credits("photos/unknown.jpg")
