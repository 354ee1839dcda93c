"""Issue 15, careless inputs to the library: images that are not photos, data that is not there.

The one image reader (`workbook.images.load_image`) says what a bad input is: a folder, a URL,
a decompression bomb, an animation. ``WORKBOOK_DATA`` pointing nowhere is an error naming the
variable; a relative value is read from the repository root. `detect_faces` refuses an empty
image with a ValueError.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fr_utils.detection import detect_faces, detect_faces_batch
from workbook import resources
from workbook.images import image_size, load_image, load_image_bytes
from workbook.resources import DataNotFoundError, data_path, data_roots


def png_header_only(path, width: int, height: int):
    """A PNG of a few dozen bytes that declares ``width x height`` pixels (never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    return path


# ------------------------------------------------------------ images
def test_a_folder_given_as_an_image_says_it_is_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not an image file"):
        load_image(tmp_path)


@pytest.mark.parametrize(
    "url", ["https://example.org/face.jpg", "http://host/a.png", "s3://b/k", "https:/x.org/a.jpg"]
)
def test_a_url_given_as_an_image_says_it_is_a_url(url):
    with pytest.raises(ValueError, match="is a URL; .*Download it first"):
        load_image(url)
    with pytest.raises(ValueError, match="is a URL"):
        image_size(url)


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such image file"):
        load_image(tmp_path / "nope.jpg")


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (10_000, 10_000)])
def test_decompression_bombs_are_a_clear_value_error(tmp_path, width, height):
    """30000^2 is over Pillow's error limit; 10000^2 only over its warning limit: both refused."""
    bomb = png_header_only(tmp_path / "bomb.png", width, height)
    assert bomb.stat().st_size < 100
    for read in (load_image, image_size, lambda p: load_image_bytes(p.read_bytes())):
        with pytest.raises(ValueError, match="decompression bomb"):
            read(bomb)


def _animation(path, fmt: str):
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0)]
    frames = [Image.new("RGB", (32, 32), colour) for colour in colours]
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100)
    return path


@pytest.mark.parametrize(("name", "fmt"), [("wave.gif", "GIF"), ("wave.png", "PNG")])
def test_an_animation_is_refused_and_a_chosen_frame_is_explicit(tmp_path, name, fmt):
    path = _animation(tmp_path / name, fmt)
    with pytest.raises(ValueError, match=r"is an animation \(3 frames"):
        load_image(path)
    with Image.open(path) as opened:  # the caller picks the frame: explicit
        opened.seek(1)
        frame = load_image(opened)
    assert frame.shape == (32, 32, 3) and frame[0, 0, 2] > 200 and frame[0, 0, 0] < 50


def test_a_still_gif_and_a_multipage_tiff_load_their_photo(tmp_path):
    Image.new("RGB", (20, 10), (0, 0, 255)).save(tmp_path / "still.gif")
    assert load_image(tmp_path / "still.gif").shape == (10, 20, 3)
    pages = [Image.new("RGB", (20, 10), (255, 0, 0)), Image.new("RGB", (20, 10), (0, 255, 0))]
    pages[0].save(tmp_path / "scan.tiff", save_all=True, append_images=pages[1:])
    np.testing.assert_array_equal(load_image(tmp_path / "scan.tiff")[0, 0], [255, 0, 0])


def test_image_size_reads_only_the_header(tmp_path):
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    assert image_size(tmp_path / "a.png") == (40, 30)
    assert image_size(np.zeros((30, 40, 3), np.uint8)) == (40, 30)
    (tmp_path / "notes.png").write_text("hello")
    with pytest.raises(ValueError, match="not an image"):
        image_size(tmp_path / "notes.png")


# ------------------------------------------------------------ WORKBOOK_DATA
def test_workbook_data_pointing_nowhere_is_an_error_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBOOK_DATA", str(tmp_path / "typo"))
    with pytest.raises(DataNotFoundError, match="WORKBOOK_DATA.*is not a folder"):
        data_path("faces/lfw/pairs.txt")  # exists in the shared data: no silent fall-back
    with pytest.raises(DataNotFoundError, match="WORKBOOK_DATA"):
        data_roots()


def test_a_relative_workbook_data_is_read_from_the_repository_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # not the repository root
    (tmp_path / "tests").mkdir()  # a decoy relative to the working directory
    monkeypatch.setenv("WORKBOOK_DATA", "tests/fixtures")
    root = resources.repo_root()
    assert data_roots()[0] == root / "tests" / "fixtures"
    assert data_path("dlib_parity").parent == root / "tests" / "fixtures"


# ------------------------------------------------------------ detection
@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 50, 3), (40, 0, 3)])
def test_detect_faces_on_an_empty_image_is_a_clear_value_error(shape):
    with pytest.raises(ValueError, match="empty"):
        detect_faces(np.zeros(shape, np.uint8))
    with pytest.raises(ValueError, match="empty"):
        detect_faces_batch([np.zeros(shape, np.uint8)])
