"""Notebook 09's live panel: any course photo in the style of any painting, at any strength.

`fast_panel` is an ipywidgets panel around `nst_utils.fast_stylize`: two drop-downs (photo,
painting) and a strength slider; each change repaints the picture in about a fifth of a
second on a CPU, fast enough to follow the slider. `show_jpeg` shows a figure of photographs
as a JPEG, a tenth of the bytes of a PNG for the same pixels, so a notebook can show its
results at full resolution and stay small.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

__all__ = ["fast_panel", "jpeg_bytes", "show_jpeg"]

#: JPEG quality of `show_jpeg`: brush strokes and titles stay sharp, files stay small.
_QUALITY = 80


def jpeg_bytes(figure, dpi: float | None = None, quality: int = _QUALITY) -> bytes:
    """A matplotlib figure encoded as JPEG (white background), at its own dpi by default."""
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="jpeg",
        dpi=dpi or figure.dpi,
        facecolor="white",
        pil_kwargs={"quality": quality},
    )
    return buffer.getvalue()


def show_jpeg(figure, dpi: float | None = None) -> None:
    """Display ``figure`` as a JPEG image and close it (no second copy as a PNG).

    Args:
        figure: a matplotlib figure, e.g. from `nst_utils.show_images`.
        dpi: resolution (default: the figure's, 110 in the notebooks).
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    data = jpeg_bytes(figure, dpi)
    plt.close(figure)
    display(Image(data=data, format="jpeg"))


def _picture(photo, painting, strength: float, size: int):
    """The panel's picture as a figure: the result, titled with what it is."""
    from nst_utils.fast import fast_stylize
    from nst_utils.media import show_images

    image = fast_stylize(photo, painting, strength, size=size)
    title = f"{Path(photo).stem} x {Path(painting).stem}\nstrength {strength:.2f}"
    # at least 2.6 inches high, so the title fits above a small picture
    return show_images([image], [title], size=max(2.6, image.shape[0] / 100))


def fast_panel(photos: Sequence, paintings: Sequence, size: int = 256, strength: float = 1.0):
    """A panel (photo x painting x strength) that repaints with fast style transfer on each change.

    Args:
        photos, paintings: paths of the images offered (shown by file name).
        size: long side of the result in pixels.
        strength: the slider's start value, in ``[0, 1]``.

    Returns:
        An ``ipywidgets.VBox``; display it as a cell's last expression. Its ``.output``
        (an ``Output`` widget) holds the current picture, drawn once when it is built.
    """
    import ipywidgets as widgets

    photo = widgets.Dropdown(options=[(Path(p).stem, p) for p in photos], description="photo")
    painting = widgets.Dropdown(
        options=[(Path(p).stem, p) for p in paintings], description="painting"
    )
    slider = widgets.FloatSlider(
        value=strength,
        min=0.0,
        max=1.0,
        step=0.05,
        description="strength",
        readout_format=".2f",
        continuous_update=False,
    )
    output = widgets.Output()

    def render(_change=None):
        with output:
            output.clear_output(wait=True)
            show_jpeg(_picture(photo.value, painting.value, slider.value, size))

    for control in (photo, painting, slider):
        control.observe(render, names="value")
    render()
    panel = widgets.VBox([widgets.HBox([photo, painting]), slider, output])
    panel.output = output
    return panel
