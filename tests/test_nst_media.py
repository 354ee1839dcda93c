"""Frames of an optimisation: the animated GIF and the strip of frames (synthetic frames)."""

import matplotlib
import numpy as np
import pytest
from PIL import Image

from nst_utils import FrameRecorder, pick_frames, save_gif, show_frames

matplotlib.use("Agg")

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]


def _frames():
    """Four (step, image) frames: three small solid ones, then a larger two-colour one."""
    frames = [(5 * (i + 1), np.full((12, 16, 3), c, np.uint8)) for i, c in enumerate(COLOURS[:3])]
    last = np.full((24, 32, 3), COLOURS[3], np.uint8)
    last[:, :16] = COLOURS[0]
    return [*frames, (20, last)]


def test_save_gif_writes_every_frame_at_the_last_frames_size(tmp_path):
    frames = _frames()
    path = save_gif(tmp_path / "evolve.gif", frames, frame_ms=80, last_ms=400)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evolve.gif"]  # no temporary left
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.is_animated and gif.n_frames == 4
        assert gif.size == (32, 24) and gif.info["loop"] == 0
        decoded, durations = [], []
        for index in range(gif.n_frames):
            gif.seek(index)
            decoded.append(np.asarray(gif.convert("RGB")).astype(int))
            durations.append(gif.info["duration"])
    assert durations == [80, 80, 80, 400]
    for (_, source), image in zip(frames[:3], decoded[:3], strict=True):
        assert image.shape == (24, 32, 3)
        np.testing.assert_allclose(image, np.broadcast_to(source[0, 0], image.shape), atol=2)
    np.testing.assert_allclose(decoded[3][:, :12], np.broadcast_to(COLOURS[0], (24, 12, 3)), atol=2)
    np.testing.assert_allclose(decoded[3][:, 20:], np.broadcast_to(COLOURS[3], (24, 12, 3)), atol=2)


def test_save_gif_takes_a_recorder_or_bare_images(tmp_path):
    recorder = FrameRecorder()
    recorder.frames = _frames()
    with Image.open(save_gif(tmp_path / "a.gif", recorder)) as gif:
        assert gif.n_frames == 4
    with Image.open(save_gif(tmp_path / "b.gif", [image for _, image in _frames()])) as gif:
        assert gif.n_frames == 4


def test_save_gif_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"\.gif"):
        save_gif(tmp_path / "evolve.png", _frames())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_gif(tmp_path / "missing" / "evolve.gif", _frames())
    with pytest.raises(ValueError, match="FrameRecorder"):
        save_gif(tmp_path / "evolve.gif", [])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        save_gif(tmp_path / "evolve.gif", [np.zeros((8, 8), np.uint8)])
    assert list(tmp_path.iterdir()) == []


def test_pick_frames_spreads_evenly_and_keeps_first_and_last():
    frames = [(step, np.zeros((4, 4, 3), np.uint8)) for step in range(1, 11)]
    assert [step for step, _ in pick_frames(frames, 4)] == [1, 4, 7, 10]
    assert [step for step, _ in pick_frames(frames, 20)] == list(range(1, 11))
    assert [step for step, _ in pick_frames(frames, 1)] == [10]
    with pytest.raises(ValueError, match="positive"):
        pick_frames(frames, 0)


def test_show_frames_draws_a_titled_strip_at_one_size():
    fig = show_frames(_frames(), count=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["step 5", "step 15", "step 20"]
    assert {ax.images[0].get_array().shape for ax in shown} == {(24, 32, 3)}
    bare = show_frames([image for _, image in _frames()], count=2)
    assert [ax.get_title() for ax in bare.axes if ax.images] == ["frame 1", "frame 4"]
