"""Tests of `conv_utils.video`: a clip is a (t, y, x) volume and a 3D kernel tells motion apart."""

from __future__ import annotations

import numpy as np
import pytest

from conv_utils import conv3d
from conv_utils.video import motion_kernels, moving_squares_clip


def _squares(frame: np.ndarray, rows: slice) -> tuple[int, int, int]:
    """(number of bright pixels, first bright column, first bright row) in one half of a frame."""
    ys, xs = np.nonzero(frame[rows])
    return len(ys), int(xs.min()), int(ys.min())


def test_every_frame_shows_two_equal_squares_moving_one_pixel_apart():
    clip = moving_squares_clip(frames=12, size=24, side=4)
    assert clip.video.shape == (12, 24, 24) and clip.video.dtype == np.float32
    assert set(np.unique(clip.video)) == {0.0, 1.0}
    for t, frame in enumerate(clip.video):
        right, left = _squares(frame, clip.rows["right"]), _squares(frame, clip.rows["left"])
        assert right[0] == left[0] == 16  # the same square in both halves: no single frame tells
        assert right[1] == 2 + t and left[1] == 24 - 2 - 4 - t  # one pixel per frame, opposite ways
    for moving, centre in clip.centres.items():
        assert clip.video[0, centre].any() and clip.rows[moving].start <= centre
        assert centre < clip.rows[moving].stop


def test_each_motion_filter_is_blind_to_the_other_direction():
    clip = moving_squares_clip()
    response = conv3d(clip.video[..., None], motion_kernels(), padding=(0, 1, 1))
    assert response.shape == (10, 24, 24, 2)
    right, left = clip.rows["right"], clip.rows["left"]
    assert np.abs(response[:, left, :, 0]).max() == 0  # rightward filter, square moving left
    assert np.abs(response[:, right, :, 1]).max() == 0
    assert np.abs(response[:, right, :, 0]).mean() > 0.01
    assert np.abs(response[:, left, :, 1]).mean() > 0.01
    # leading edges are positive: the right edge of the right-moving square, at a middle frame
    row = clip.centres["right"]
    x = np.flatnonzero(clip.video[5, row])[-1]  # last bright pixel of frame 5 = response frame 4
    assert response[4, row, x, 0] > 0 > response[4, row, np.flatnonzero(clip.video[5, row])[0], 0]


def test_a_single_frame_of_the_kernel_cannot_tell_the_directions():
    clip = moving_squares_clip()
    spatial = conv3d(clip.video[..., None], motion_kernels()[1:2], padding=(0, 1, 1))
    right, left = clip.rows["right"], clip.rows["left"]
    for k in range(2):
        energy = [np.abs(spatial[:, rows, :, k]).mean() for rows in (right, left)]
        assert energy[0] == pytest.approx(energy[1]) and energy[0] > 0


def test_motion_kernels_are_central_differences_in_keras_layout():
    kernel = motion_kernels()
    assert kernel.shape == (3, 3, 3, 1, 2) and kernel.dtype == np.float32
    rng = np.random.default_rng(0)
    video = rng.normal(size=(5, 6, 7)).astype(np.float32)
    out = conv3d(video[..., None], kernel)  # valid: out[t, y, x] is centred on video[t+1, y+1, x+1]
    smooth = np.array([0.25, 0.5, 0.25])
    t, y, x = 1, 2, 3
    rows = slice(y, y + 3)
    d_t = smooth @ (video[t + 2, rows, x + 1] - video[t, rows, x + 1]) / 2
    d_x = smooth @ (video[t + 1, rows, x + 2] - video[t + 1, rows, x]) / 2
    np.testing.assert_allclose(out[t, y, x], [d_t - d_x, d_t + d_x], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"frames": 2}, "frames must be >= 3"), ({"side": 1}, "at least 2"), ({"size": 12}, "fit")],
)
def test_bad_clip_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        moving_squares_clip(**kwargs)
