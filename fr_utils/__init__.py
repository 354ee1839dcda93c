"""Face verification and recognition (notebooks 01-05).

Public names and their math are fixed in the course's CONVENTIONS.md. Importing this
package is cheap: TensorFlow, the encoder and the detector load on first use and are
cached per process (`load_face_model`).

Typical use::

    import fr_utils
    encoder = fr_utils.load_face_model()            # dlib's ResNet, ported to Keras
    fr_utils.verify("door.jpg", "Ada", database, encoder)   # (distance, same person?)

What lives where (the path says what a module is for):

* the library, what a user of face recognition calls: `fr_utils.api` (img_to_encoding,
  face_distance, verify, who_is_it), `fr_utils.faces` (a photo's faces, aligned:
  ``alignment="mtcnn"`` or ``"dlib"``, dlib's own chip),
  `fr_utils.detection` (MTCNN), `fr_utils.landmarks` (face_landmarks: dlib's 68 points
  grouped by part), `fr_utils.alignment` (landmarks -> chip, jitter),
  `fr_utils.encoder` (FaceEncoder, load_face_model), `fr_utils.metrics` (the one rule
  "same person iff d <= tau" and how tau is chosen), `fr_utils.database` (FaceDatabase),
  `fr_utils.losses` (triplet_loss), `fr_utils.cli` (``python -m fr_utils``);
* `fr_utils.models`: the pretrained networks ported to Keras and readers of their files;
* `fr_utils.lfw`: LFW tooling (pairs, galleries, crops, the evaluation behind the threshold);
* `fr_utils.lessons`: experiments and figures only the notebooks use;
* `fr_utils.checks`: the exercise checks, one module per notebook (``nb01`` ... ``nb05``).

Images are read by `workbook.images.load_image` (re-exported here as `load_image`).
"""

from fr_utils.alignment import chip_landmarks, extract_chip
from fr_utils.api import face_distance, img_to_encoding, verify, who_is_it
from fr_utils.database import FaceDatabase
from fr_utils.detection import DetectedFace, detect_faces
from fr_utils.encoder import FaceEncoder, load_face_model
from fr_utils.faces import (
    AlignedFace,
    AmbiguousFaceError,
    AmbiguousFaceWarning,
    NoFaceFoundError,
    WeakFaceWarning,
    align_face,
    align_faces,
)
from workbook.images import load_image

__all__ = [
    "AlignedFace",
    "AmbiguousFaceError",
    "AmbiguousFaceWarning",
    "DetectedFace",
    "FaceDatabase",
    "FaceEncoder",
    "NoFaceFoundError",
    "WeakFaceWarning",
    "align_face",
    "align_faces",
    "chip_landmarks",
    "detect_faces",
    "extract_chip",
    "face_distance",
    "face_landmarks",
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
    if name == "face_landmarks":  # its shape predictors load on first call; keep import cheap
        from fr_utils.landmarks import face_landmarks

        return face_landmarks
    raise AttributeError(f"module 'fr_utils' has no attribute {name!r}")
