"""OpenFace reference embeddings of LFW faces (notebook 01).

``faces/openface_reference`` holds 918 embeddings made by OpenFace's nn4.small2.v1
network (the course's FaceNet-style model) from dlib-aligned 96x96 LFW crops, one
row per image, with the image path of each row in ``labels.csv``. They let us study
verification and recognition on real encodings before we run any network.
"""

from __future__ import annotations

import csv

import numpy as np

from workbook.resources import data_path

__all__ = ["load_openface_reference"]


def load_openface_reference(
    folder: str = "faces/openface_reference",
) -> tuple[np.ndarray, list[str]]:
    """Load the OpenFace LFW embeddings and the identity of each row.

    Args:
        folder: data folder with ``reps.csv`` and ``labels.csv`` (found by `workbook.data_path`).

    Returns:
        ``(encodings, names)``: float32 array ``(n, 128)`` of unit-norm rows and the list of
        the ``n`` person names (``"Ariel_Sharon"``), in the same order.

    Raises:
        ValueError: when the two files do not have the same number of rows.
    """
    root = data_path(folder)
    encodings = np.loadtxt(root / "reps.csv", delimiter=",", dtype=np.float32, ndmin=2)
    with open(root / "labels.csv", newline="") as handle:
        names = [row[1].split("/")[-2] for row in csv.reader(handle) if row]
    if len(names) != len(encodings):
        raise ValueError(
            f"{root}: reps.csv has {len(encodings)} rows but labels.csv has {len(names)};"
            " the two files must be row-aligned (re-fetch them with `make data`)."
        )
    return encodings, names
