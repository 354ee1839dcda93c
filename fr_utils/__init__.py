"""Face verification and recognition helpers for the workbook (notebooks 01-05).

Public names and their math are fixed in the course's CONVENTIONS.md. Importing this
package is cheap: TensorFlow, the encoder and the detector load on first use and are
cached per process (`load_face_model`).

Typical use::

    import fr_utils
    encoder = fr_utils.load_face_model()            # dlib's ResNet, ported to Keras
    fr_utils.face_distance("a.jpg", "b.jpg", encoder) <= encoder.threshold

Step by step (notebook 05): `detect_faces` (MTCNN boxes + 5 landmarks) -> `chip_landmarks`
(where the encoder wants them) -> `extract_chip` (similarity transform + warp) ->
``encoder.encode``; `align_faces` does the first three for every face of a photo.
"""

from fr_utils.alignment import chip_landmarks, extract_chip
from fr_utils.api import face_distance, img_to_encoding, verify, who_is_it
from fr_utils.database import FaceDatabase
from fr_utils.detection import DetectedFace, detect_faces
from fr_utils.encoder import FaceEncoder, load_face_model
from fr_utils.faces import AlignedFace, NoFaceFoundError, align_face, align_faces
from workbook.images import load_image

__all__ = [
    "AlignedFace",
    "DetectedFace",
    "FaceDatabase",
    "FaceEncoder",
    "NoFaceFoundError",
    "align_face",
    "align_faces",
    "chip_landmarks",
    "detect_faces",
    "extract_chip",
    "face_distance",
    "img_to_encoding",
    "load_face_model",
    "load_image",
    "triplet_loss",
    "verify",
    "who_is_it",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # `fr_utils.losses` imports Keras (and so TensorFlow, seconds): load it on first use.
    if name == "triplet_loss":
        from fr_utils.losses import triplet_loss

        return triplet_loss
    raise AttributeError(f"module 'fr_utils' has no attribute {name!r}")
