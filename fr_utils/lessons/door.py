"""The door of the lecture's scenario: who are the closest enrolled people, and does it open?

`who_is_it` answers with the single nearest identity. A person standing at the door (or
an engineer tuning it) also wants the runners-up: how far the second-best match is tells
how safe the answer is. `top_matches` returns the ``k`` nearest *identities* (one entry per
person, at the distance of that person's closest enrolled photo), `door_report` prints
them with the door's verdict, and `door_panel` wraps both in an ipywidgets panel: upload
a photo, move the threshold, read the matches. Where no widget frontend runs (nbval,
papermill, a terminal), `door_report` is the same answer as plain text.
"""

from __future__ import annotations

import html
import io

import numpy as np

from fr_utils.database import ENCODING_DIM, gallery_rows
from fr_utils.faces import align_face
from fr_utils.metrics import check_threshold, is_match
from workbook.images import ImageInput, load_image_bytes

__all__ = ["door_panel", "door_report", "top_matches"]


def top_matches(encoding, database, k: int = 3) -> list[tuple[str, float]]:
    """Return the ``k`` enrolled identities closest to an encoding, nearest first.

    Args:
        encoding: ``(128,)`` or ``(1, 128)`` encoding of the face at the door.
        database: a `fr_utils.FaceDatabase` or a dict ``{name: (k_i, 128) encodings}``.
        k: how many identities to return (fewer if the database knows fewer).

    Returns:
        ``[(name, distance), ...]``: L2 distances (floats), one entry per identity (the
        distance to its closest encoding), sorted by distance then name.

    Raises:
        ValueError: the database is empty, ``k < 1``, or the encoding is not 128-D.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    query = np.asarray(encoding, np.float32)
    if query.size != ENCODING_DIM:
        raise ValueError(f"Need one 128-D encoding, got shape {query.shape}")
    names, rows = gallery_rows(database)
    if not names:
        raise ValueError("The face database is empty; enroll someone first")
    distances = np.linalg.norm(rows - query.reshape(1, ENCODING_DIM), axis=1)
    best: dict[str, float] = {}
    for name, dist in zip(names, distances.tolist(), strict=True):
        best[name] = min(dist, best.get(name, np.inf))
    return sorted(best.items(), key=lambda item: (item[1], item[0]))[:k]


def _report(matches: list[tuple[str, float]], threshold: float) -> str:
    lines = [f"{'rank':<5}{'identity':<28}{'distance':>9}  verdict (threshold {threshold:.2f})"]
    for rank, (name, dist) in enumerate(matches, start=1):
        verdict = "match" if is_match(dist, threshold) else "too far"
        lines.append(f"{rank:<5}{name:<28}{dist:>9.3f}  {verdict}")
    name, dist = matches[0]
    opens = is_match(dist, threshold)
    door = f"door OPENS for {name}" if opens else "door stays closed: unknown person"
    return "\n".join(lines + [door])


def door_report(
    image: ImageInput, database, encoder, threshold: float | None = None, k: int = 3
) -> str:
    """Describe what the door decides for a photo: the ``k`` nearest identities and the verdict.

    Args:
        image: a path, PIL image or ``HxWx3`` uint8 array (its subject is used: the most
            prominent confident face, `fr_utils.faces`).
        database: a `fr_utils.FaceDatabase` or ``{name: encoding}`` dict.
        encoder: a `fr_utils.FaceEncoder`.
        threshold: L2 distance under which a match opens the door; None means
            ``encoder.threshold``.
        k: identities listed.

    Returns:
        A few lines of text: rank, identity, distance and verdict per match, then the door's
        decision (it opens for the nearest identity when it is within ``threshold``).

    Raises:
        NoFaceFoundError: no face in the photo.
    """
    threshold = encoder.threshold if threshold is None else check_threshold(threshold)
    chip = align_face(image, encoder.input_size, encoder.padding).chip
    return _report(top_matches(encoder.encode(chip[None]), database, k), threshold)


def _uploaded_photo(upload) -> np.ndarray | None:
    """The photo of an ipywidgets 8 ``FileUpload`` value (tuple of dicts), or None."""
    if not upload.value:
        return None
    upload = upload.value[-1]
    return load_image_bytes(bytes(upload["content"]), upload.get("name") or "the uploaded file")


def _png(chip: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(chip).save(buffer, format="PNG")
    return buffer.getvalue()


def door_panel(database, encoder, threshold: float | None = None, k: int = 3, example=None):
    """Build an interactive door: upload a photo, set the threshold, read the top matches.

    Args:
        database: a `fr_utils.FaceDatabase` or ``{name: encoding}`` dict.
        encoder: a `fr_utils.FaceEncoder`.
        threshold: initial slider value; None means ``encoder.threshold``.
        k: matches shown.
        example: a photo shown before anything is uploaded (optional).

    Returns:
        An ``ipywidgets.VBox`` (display it as a cell's last expression): the upload
        button and the slider, the aligned chip and the report. Its ``.upload``,
        ``.slider`` and ``.text`` (an HTML widget holding the report) are attributes.

    Raises:
        ImportError: ipywidgets is not installed (use `door_report` instead).
    """
    import ipywidgets as widgets

    start = encoder.threshold if threshold is None else check_threshold(threshold)
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="Your photo")
    slider = widgets.FloatSlider(
        value=start, min=0.2, max=0.9, step=0.01, description="threshold", readout_format=".2f"
    )
    chip_view = widgets.Image(format="png", width=120, height=120)
    text = widgets.HTML()
    state = {"encoding": None, "source": None}

    def show(message: str) -> None:
        text.value = f"<pre>{html.escape(message)}</pre>"

    def encode_current() -> None:
        photo = _uploaded_photo(upload)
        source = "uploaded photo" if photo is not None else "example photo"
        photo = photo if photo is not None else example
        state["encoding"], state["source"] = None, source
        if photo is not None:
            chip = align_face(photo, encoder.input_size, encoder.padding).chip
            state["encoding"] = encoder.encode(chip[None])
            chip_view.value = _png(chip)

    def render(_=None) -> None:
        if state["encoding"] is None:
            show("Upload a photo with a face to see who the door thinks it is.")
        else:
            matches = top_matches(state["encoding"], database, k)
            show(f"{state['source']}:\n{_report(matches, slider.value)}")

    def update(_=None) -> None:
        try:
            encode_current()
        except ValueError as error:  # NoFaceFoundError or an unreadable upload
            show(str(error))
            return
        render()

    upload.observe(update, names="value")
    slider.observe(render, names="value")
    panel = widgets.VBox([widgets.HBox([upload, slider]), widgets.HBox([chip_view, text])])
    panel.upload, panel.slider, panel.text, panel.update = upload, slider, text, update
    update()
    return panel
