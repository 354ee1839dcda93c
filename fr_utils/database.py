"""`FaceDatabase`: enrolled identities, their encodings, and fast nearest-neighbour search.

Each identity may have several encodings (one per enrollment photo: different lighting,
glasses, ages); a query matches an identity when it is close to *any* of them. Search is
one vectorised distance computation over the whole gallery,

    ||q - g||^2 = ||q||^2 + ||g||^2 - 2 q . g,

i.e. one matrix product instead of the course's Python loop over a dict. With ``faiss``
installed and a large gallery (``FAISS_MIN_GALLERY`` rows or more), the same `search`
uses a FAISS inverted-file index that scans only the ``nprobe`` nearest of ``sqrt(n)``
clusters (approximate: very close matches, the ones under a face threshold, are found
reliably). ``backend="faiss"`` forces FAISS, with an exact flat index below
``IVF_MIN_GALLERY`` rows.

Databases are saved as ``.npz`` (no pickle) with a SHA-256 checksum of their content,
written atomically (temporary file, then rename), so a crash never leaves half a file
and an edited or damaged file is refused with an error naming it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fr_utils.faces import align_face
from fr_utils.metrics import check_threshold, is_match
from workbook.atomic import atomic_open

__all__ = ["ENCODING_DIM", "FAISS_MIN_GALLERY", "IVF_MIN_GALLERY", "FaceDatabase", "gallery_rows"]

# Below this many rows numpy's single matrix-vector product is as fast as a flat FAISS index
# (measured by benchmarks/bench_search.py), so `backend="auto"` switches straight to the
# inverted-file index, whose per-query cost grows like sqrt(n) instead of n.
FAISS_MIN_GALLERY = 200_000
IVF_MIN_GALLERY = 200_000
_FORMAT_VERSION = 1
#: Length of a face encoding (dlib's ResNet and OpenFace both give 128 numbers).
ENCODING_DIM = 128


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


class FaceDatabase:
    """Named face encodings with enrollment, search and ``.npz`` persistence.

    Args:
        encoder_name: name of the encoder that produced the encodings (saved with them,
            checked when identifying, so encodings of two models are never mixed).
        backend: ``"auto"`` (FAISS for large galleries when installed), ``"numpy"`` or
            ``"faiss"``.
        nprobe: clusters an inverted-file FAISS index scans per query (speed vs recall).

    Example:
        >>> db = FaceDatabase()
        >>> db.enroll("Barack Obama", ["obama1.jpg", "obama2.jpg"], encoder)  # doctest: +SKIP
        >>> db.identify(img_to_encoding("door.jpg", encoder), encoder.threshold)  # doctest: +SKIP
        (0.31, 'Barack Obama')
    """

    def __init__(
        self, encoder_name: str = "dlib_resnet_v1", backend: str = "auto", nprobe: int = 32
    ):
        if backend not in ("auto", "numpy", "faiss"):
            raise ValueError(f"backend must be 'auto', 'numpy' or 'faiss', got {backend!r}")
        if backend == "faiss" and _faiss() is None:
            raise ValueError("backend='faiss' needs the faiss package: pip install faiss-cpu")
        self.encoder_name = encoder_name
        self.backend = backend
        self.nprobe = nprobe
        self._names: list[str] = []
        self._encodings = np.zeros((0, ENCODING_DIM), np.float32)
        self._index = None
        self._sq_norms = None

    # ------------------------------------------------------------------ contents
    def __len__(self) -> int:
        """Number of identities."""
        return len(self.identities)

    def __contains__(self, name: object) -> bool:
        return name in set(self._names)

    def __repr__(self) -> str:
        return (
            f"FaceDatabase({len(self)} identities, {self.num_encodings} encodings,"
            f" encoder={self.encoder_name!r})"
        )

    @property
    def identities(self) -> list[str]:
        """Sorted names of the enrolled identities."""
        return sorted(set(self._names))

    @property
    def num_encodings(self) -> int:
        """Number of stored encodings (rows)."""
        return len(self._names)

    @property
    def encodings(self) -> np.ndarray:
        """``(num_encodings, 128)`` float32, read-only view of all rows."""
        view = self._encodings.view()
        view.flags.writeable = False
        return view

    def row_names(self) -> list[str]:
        """Identity of each row of `encodings`."""
        return list(self._names)

    def encodings_of(self, name: str) -> np.ndarray:
        """Return ``(k, 128)`` encodings of one identity.

        Raises:
            KeyError: unknown name (the message lists the known ones).
        """
        rows = [i for i, n in enumerate(self._names) if n == name]
        if not rows:
            raise KeyError(f"Unknown identity {name!r}; known: {', '.join(self.identities)}")
        return self._encodings[rows].copy()

    # ------------------------------------------------------------------ changes
    def add(self, name: str, encodings) -> None:
        """Add precomputed encodings of one identity.

        Args:
            name: the identity (a non-empty string; an existing name gets more rows).
            encodings: ``(128,)`` or ``(k, 128)`` finite floats.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"An identity needs a non-empty name, got {name!r}")
        values = np.asarray(encodings, dtype=np.float32)
        if values.ndim not in (1, 2) or values.shape[-1] != ENCODING_DIM or values.size == 0:
            raise ValueError(
                f"encodings of {name!r} must be (k, {ENCODING_DIM}), got {values.shape}"
            )
        if not np.isfinite(values).all():
            raise ValueError(f"encodings of {name!r} contain NaN or infinite values")
        rows = values.reshape(-1, ENCODING_DIM)
        self._names += [name] * len(rows)
        self._encodings = np.concatenate([self._encodings, rows])
        self._changed()

    def enroll(
        self,
        name: str,
        images: Iterable,
        encoder,
        *,
        alignment: str = "mtcnn",
        num_jitters: int = 0,
        jitter_seed: int = 0,
        ambiguous: str = "warn",
    ) -> np.ndarray:
        """Enroll a person from one or more photos (the subject of each, as `img_to_encoding`).

        Args:
            name: the identity.
            images: paths, PIL images or arrays (one photo may also be passed alone).
            encoder: from `fr_utils.load_face_model`; must match ``encoder_name``.
            alignment, num_jitters, jitter_seed, ambiguous: as in `fr_utils.img_to_encoding`
                (enroll and query with the same options: encodings made differently sit a
                little apart).

        Returns:
            The ``(k, 128)`` encodings added.

        Raises:
            NoFaceFoundError: a photo has no confident face (nothing is added then).
            AmbiguousFaceError: a photo shows comparable faces and ``ambiguous="raise"``.
            ValueError: unreadable photo, or an encoder other than the database's.
        """
        self.check_encoder(encoder)
        if isinstance(images, (str, os.PathLike, np.ndarray)) or not isinstance(images, Iterable):
            images = [images]
        chips = [
            align_face(
                image, encoder.input_size, encoder.padding, alignment=alignment, ambiguous=ambiguous
            ).chip
            for image in images
        ]
        if not chips:
            raise ValueError(f"enroll({name!r}) needs at least one photo")
        encodings = encoder.encode(
            np.stack(chips), num_jitters=num_jitters, jitter_seed=jitter_seed
        )
        self.add(name, encodings)
        return encodings

    def remove(self, name: str) -> None:
        """Remove an identity and all its encodings.

        Raises:
            KeyError: unknown name.
        """
        if name not in self:
            raise KeyError(f"Unknown identity {name!r}; known: {', '.join(self.identities)}")
        keep = [i for i, n in enumerate(self._names) if n != name]
        self._names = [self._names[i] for i in keep]
        self._encodings = self._encodings[keep]
        self._changed()

    def _changed(self) -> None:
        self._index = None
        self._sq_norms = None

    def check_encoder(self, encoder) -> None:
        """Raise ValueError unless ``encoder`` made this database's encodings (same name)."""
        if encoder.name != self.encoder_name:
            raise ValueError(
                f"This database holds {self.encoder_name} encodings; got encoder {encoder.name}."
                " Encodings of different models are not comparable."
            )

    # ------------------------------------------------------------------ search
    def uses_faiss(self) -> bool:
        """Whether `search` goes through a FAISS index for the current gallery."""
        if self.backend == "numpy" or _faiss() is None:
            return False
        return self.backend == "faiss" or self.num_encodings >= FAISS_MIN_GALLERY

    def search(self, queries) -> tuple[np.ndarray, list[str]]:
        """Find the nearest stored encoding of each query.

        Args:
            queries: ``(128,)`` or ``(q, 128)`` encodings.

        Returns:
            ``(distances, names)``: ``(q,)`` float32 L2 distances to the nearest row and the
            identity of that row, per query.

        Raises:
            ValueError: the database is empty, or the queries have the wrong shape.
        """
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, ENCODING_DIM)
        if not self._names:
            raise ValueError("The face database is empty; enroll someone first")
        if self.uses_faiss():
            sq_dists, rows = self._faiss_index().search(np.ascontiguousarray(queries), 1)
            sq_dists, rows = sq_dists[:, 0], rows[:, 0]
            lost = rows < 0  # an inverted-file search whose probed clusters were all empty
            if lost.any():
                sq_dists[lost], rows[lost] = self._exact_search(queries[lost])
        else:
            sq_dists, rows = self._exact_search(queries)
        distances = np.sqrt(np.maximum(sq_dists, 0.0)).astype(np.float32)
        return distances, [self._names[r] for r in rows]

    def _exact_search(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Squared distances and rows of the nearest neighbours, by one matrix product."""
        if self._sq_norms is None:
            self._sq_norms = np.einsum("ij,ij->i", self._encodings, self._encodings)
        products = queries @ self._encodings.T  # (q, n): the whole cost is this product
        sq = self._sq_norms[None, :] - 2.0 * products
        rows = np.argmin(sq, axis=1)
        sq_dists = sq[np.arange(len(queries)), rows] + np.einsum("ij,ij->i", queries, queries)
        return sq_dists, rows

    def identify(self, encoding, threshold: float) -> tuple[float, str | None]:
        """Return ``(min_dist, identity)`` of one encoding; None above ``threshold``."""
        threshold = check_threshold(threshold)
        distances, names = self.search(encoding)
        dist = float(distances[0])
        return dist, (names[0] if is_match(dist, threshold) else None)

    def _faiss_index(self):
        if self._index is None:
            faiss = _faiss()
            n = self.num_encodings
            data = np.ascontiguousarray(self._encodings)
            if n < IVF_MIN_GALLERY:
                index = faiss.IndexFlatL2(ENCODING_DIM)
            else:
                # sqrt(n) clusters of ~sqrt(n) rows: a query scans nprobe * sqrt(n) rows.
                # k-means on 40 points per cluster keeps training to seconds at 1M rows.
                nlist = max(1, int(np.sqrt(n)))
                index = faiss.IndexIVFFlat(faiss.IndexFlatL2(ENCODING_DIM), ENCODING_DIM, nlist)
                sample = np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)
                index.train(data[np.sort(sample)])
                index.nprobe = self.nprobe
            index.add(data)
            self._index = index
        return self._index

    # ------------------------------------------------------------------ files
    def _checksum(self) -> str:
        digest = hashlib.sha256()
        digest.update(self.encoder_name.encode())
        digest.update("\0".join(self._names).encode())
        digest.update(np.ascontiguousarray(self._encodings, dtype="<f4").tobytes())
        return digest.hexdigest()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the database to ``path`` (``.npz``) atomically, with a content checksum."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"{path}: a face database file must end in .npz")
        with atomic_open(path) as out:
            np.savez(
                out,
                format_version=np.array(_FORMAT_VERSION),
                encoder_name=np.array(self.encoder_name),
                names=np.array(self._names, dtype=str).reshape(-1),
                encodings=self._encodings.astype("<f4"),
                checksum=np.array(self._checksum()),
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, backend: str = "auto") -> FaceDatabase:
        """Read a database written by `save`.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not a face database, or its content does not match its
                checksum (edited or damaged); the message names the file.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No face database at {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format_version"])
                encoder_name = str(data["encoder_name"])
                names = [str(n) for n in data["names"]]
                encodings = np.asarray(data["encodings"], dtype=np.float32)
                checksum = str(data["checksum"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"{path}: not a readable face database ({type(error).__name__}: {error})."
                " Restore it from a backup or enroll the people again into a new file."
            ) from error
        if version != _FORMAT_VERSION:
            raise ValueError(f"{path}: face database format {version}, expected {_FORMAT_VERSION}")
        if encodings.shape != (len(names), ENCODING_DIM):
            raise ValueError(f"{path}: {len(names)} names but encodings of shape {encodings.shape}")
        database = cls(encoder_name, backend=backend)
        database._names, database._encodings = names, encodings
        if database._checksum() != checksum:
            raise ValueError(
                f"{path}: checksum mismatch, the file was edited or damaged after it was saved."
                " Restore it from a backup or enroll the people again into a new file."
            )
        return database


def gallery_rows(database) -> tuple[list[str], np.ndarray]:
    """Flatten a database into ``(row_names, (n, 128) float32 encodings)``, one row per photo.

    Args:
        database: a `FaceDatabase`, or the course's plain dict ``{name: (k, 128) encodings}``
            (``(128,)`` or ``(1, 128)`` for one photo).

    Raises:
        TypeError: anything else.
        ValueError: an entry of the dict is not made of 128-number rows.
    """
    if isinstance(database, FaceDatabase):
        return database.row_names(), np.asarray(database.encodings, np.float32)
    if not isinstance(database, dict):
        raise TypeError(
            "database must be a FaceDatabase or a dict {name: (1, 128) encoding},"
            f" got {type(database).__name__}"
        )
    names, rows = [], []
    for name, value in database.items():
        value = np.asarray(value, dtype=np.float32)
        if value.size == 0 or value.size % ENCODING_DIM:
            raise ValueError(
                f"database[{name!r}] should hold (k, {ENCODING_DIM}) encodings, got {value.shape}"
            )
        value = value.reshape(-1, ENCODING_DIM)
        names += [str(name)] * len(value)
        rows.append(value)
    encodings = np.concatenate(rows) if rows else np.zeros((0, ENCODING_DIM), np.float32)
    return names, encodings
