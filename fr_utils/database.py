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
and an edited or damaged file is refused with an error naming it. A save keeps the file's
permission bits, writes through a symbolic link to its target, and deletes the temporary
files of saves that were killed (`workbook.atomic.remove_stale`). Loading refuses, before
reading any array, a file whose arrays declare far more bytes than the file holds (a
"zip bomb"), and after reading, names that could not have been enrolled and NaN/infinite rows.

Careful users, hostile files and concurrent writers:

* `FaceDatabase.editing` wraps load-modify-save in an inter-process lock
  (`workbook.atomic.exclusive_lock`), so parallel ``python -m fr_utils enroll`` into one file
  all survive (Linux/macOS; Windows has no lock, see there);
* a name that is already enrolled is an error unless the caller says what it means:
  ``if_exists="add"`` (more photos of the same person) or ``"replace"`` (new photos instead);
* names are checked by `check_name`: not empty, no surrounding spaces, at most
  `MAX_NAME_LENGTH` characters, no control characters (a trailing NUL, a newline).
"""

from __future__ import annotations

import hashlib
import math
import os
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from fr_utils.faces import DEFAULT_ALIGNMENT, align_face, encode_faces
from fr_utils.metrics import check_threshold, is_match
from workbook.atomic import atomic_open, exclusive_lock, remove_stale

__all__ = [
    "ENCODING_DIM",
    "FAISS_MIN_GALLERY",
    "IF_EXISTS",
    "IVF_MIN_GALLERY",
    "MAX_NAME_LENGTH",
    "FaceDatabase",
    "check_name",
    "gallery_rows",
    "photo_encodings",
]

# Below this many rows numpy's single matrix-vector product is as fast as a flat FAISS index
# (measured by benchmarks/bench_search.py), so `backend="auto"` switches straight to the
# inverted-file index, whose per-query cost grows like sqrt(n) instead of n.
FAISS_MIN_GALLERY = 200_000
IVF_MIN_GALLERY = 200_000
_FORMAT_VERSION = 1
#: Length of a face encoding (dlib's ResNet and OpenFace both give 128 numbers).
ENCODING_DIM = 128
#: Longest identity name accepted, in characters.
MAX_NAME_LENGTH = 200
#: What `FaceDatabase.add` does with a name that is already enrolled: refuse, add rows, replace.
IF_EXISTS = ("error", "add", "replace")
# Unicode categories refused in names: control characters (NUL, tab, newline, ...), lone
# surrogates (not encodable as UTF-8) and line/paragraph separators.
_BAD_NAME_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
_MEMBERS = ("format_version", "encoder_name", "names", "encodings", "checksum")
# `save` stores the arrays uncompressed, and float encodings barely compress, so a file whose
# arrays declare more than this many times its own size is not one `save` wrote.
_MAX_EXPANSION = 20


def check_name(name) -> str:
    """Return ``name`` if it can be an identity's name, else raise ValueError saying why.

    A name is a non-empty string of at most `MAX_NAME_LENGTH` characters, without leading or
    trailing spaces, and without control characters (NUL, tab, newline, ...): names are
    printed on one line, and NumPy drops trailing NULs when saving, which used to leave a file
    that could not be loaded again.
    """
    if not isinstance(name, str):
        raise ValueError(f"An identity name must be a string, got {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"An identity needs a non-empty name, got {name!r}")
    if name != name.strip():
        raise ValueError(f"The name {name!r} starts or ends with spaces; remove them")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"The name {name[:40]!r}... has {len(name)} characters; at most {MAX_NAME_LENGTH}"
        )
    bad = dict.fromkeys(c for c in name if unicodedata.category(c) in _BAD_NAME_CATEGORIES)
    if bad:
        codes = ", ".join(f"U+{ord(c):04X}" for c in bad)
        raise ValueError(
            f"The name {name!r} contains control characters ({codes}: NUL, tab, newline, ...);"
            " remove them"
        )
    return name


def photo_encodings(
    images: Iterable,
    encoder,
    *,
    alignment: str = DEFAULT_ALIGNMENT,
    num_jitters: int = 0,
    jitter_seed: int = 0,
    ambiguous: str = "warn",
    weak: str = "warn",
) -> np.ndarray:
    """Encode the subject of each photo: ``(k, 128)`` float32, one row per photo.

    Args:
        images: paths, PIL images or arrays (one photo may also be passed alone).
        encoder: from `fr_utils.load_face_model`.
        alignment, num_jitters, jitter_seed, ambiguous, weak: as in `fr_utils.img_to_encoding`.

    Raises:
        NoFaceFoundError: a photo has no face (or only weak ones and ``weak="raise"``).
        AmbiguousFaceError: a photo shows comparable faces and ``ambiguous="raise"``.
        ValueError: an unreadable photo, or no photo at all.
    """
    if isinstance(images, (str, os.PathLike, np.ndarray)) or not isinstance(images, Iterable):
        images = [images]
    options = {"alignment": alignment, "ambiguous": ambiguous, "weak": weak}
    faces = [align_face(image, encoder.input_size, encoder.padding, **options) for image in images]
    if not faces:
        raise ValueError("Need at least one photo to enroll")
    return encode_faces(faces, encoder, num_jitters=num_jitters, jitter_seed=jitter_seed)


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
    def check_addition(self, name: str, if_exists: str = "error") -> None:
        """Raise ValueError unless ``add(name, ..., if_exists=if_exists)`` would be accepted.

        The name must pass `check_name`; an enrolled name needs ``if_exists="add"`` or
        ``"replace"``. `enroll` and the command line call this before any slow work.
        """
        check_name(name)
        if if_exists not in IF_EXISTS:
            raise ValueError(f"if_exists must be one of {IF_EXISTS}, got {if_exists!r}")
        if if_exists == "error" and name in self:
            count = self._names.count(name)
            raise ValueError(
                f"{name!r} is already enrolled ({count} encoding(s)). Say what you mean:"
                " if_exists='add' adds the new photos to theirs, if_exists='replace' replaces"
                " them (command line: --add or --replace)"
            )

    def add(self, name: str, encodings, *, if_exists: str = "error") -> None:
        """Add precomputed encodings of one identity.

        Args:
            name: the identity (see `check_name`).
            encodings: ``(128,)`` or ``(k, 128)`` finite floats.
            if_exists: for a name already enrolled: ``"error"`` (default: raise),
                ``"add"`` (keep its rows and add these) or ``"replace"`` (drop its rows first).

        Raises:
            ValueError: a bad name, bad encodings, or an enrolled name with ``"error"``.
        """
        self.check_addition(name, if_exists)
        values = np.asarray(encodings, dtype=np.float32)
        if values.ndim not in (1, 2) or values.shape[-1] != ENCODING_DIM or values.size == 0:
            raise ValueError(
                f"encodings of {name!r} must be (k, {ENCODING_DIM}), got {values.shape}"
            )
        if not np.isfinite(values).all():
            raise ValueError(f"encodings of {name!r} contain NaN or infinite values")
        rows = values.reshape(-1, ENCODING_DIM)
        if if_exists == "replace" and name in self:
            self.remove(name)
        self._names += [name] * len(rows)
        self._encodings = np.concatenate([self._encodings, rows])
        self._changed()

    def enroll(
        self,
        name: str,
        images: Iterable,
        encoder,
        *,
        if_exists: str = "error",
        alignment: str = DEFAULT_ALIGNMENT,
        num_jitters: int = 0,
        jitter_seed: int = 0,
        ambiguous: str = "warn",
        weak: str = "warn",
    ) -> np.ndarray:
        """Enroll a person from one or more photos (the subject of each, as `img_to_encoding`).

        Args:
            name: the identity (see `check_name`).
            images: paths, PIL images or arrays (one photo may also be passed alone).
            encoder: from `fr_utils.load_face_model`; must match ``encoder_name``.
            if_exists: ``"error"``, ``"add"`` or ``"replace"``, as in `add`.
            alignment, num_jitters, jitter_seed, ambiguous, weak: as in
                `fr_utils.img_to_encoding` (enroll and query with the same options:
                encodings made differently sit a little apart).

        Returns:
            The ``(k, 128)`` encodings added.

        Raises:
            NoFaceFoundError: a photo has no face, or only weak ones and ``weak="raise"``
                (nothing is added then).
            AmbiguousFaceError: a photo shows comparable faces and ``ambiguous="raise"``.
            ValueError: unreadable photo, an encoder other than the database's, a bad name,
                or an enrolled name with ``if_exists="error"`` (checked before any photo is read).
        """
        self.check_encoder(encoder)
        self.check_addition(name, if_exists)
        encodings = photo_encodings(
            images,
            encoder,
            alignment=alignment,
            num_jitters=num_jitters,
            jitter_seed=jitter_seed,
            ambiguous=ambiguous,
            weak=weak,
        )
        self.add(name, encodings, if_exists=if_exists)
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
        """Write the database to ``path`` (``.npz``) atomically, with a content checksum.

        An existing file keeps its permission bits; a symbolic link keeps pointing at the file,
        which is rewritten. Temporary files of killed saves (over an hour old) are deleted.
        To change a file other processes may change too, use `editing`.
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"{path}: a face database file must end in .npz")
        if path.is_dir():
            raise ValueError(f"{path} is a folder; a face database is a .npz file")
        remove_stale(path)
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
    @contextmanager
    def editing(
        cls, path: str | os.PathLike, encoder_name: str = "dlib_resnet_v1", backend: str = "auto"
    ) -> Iterator[FaceDatabase]:
        """Load the database at ``path`` (or start an empty one), yield it, save it: all locked.

        Other processes that edit the same file this way wait their turn (an exclusive
        `workbook.atomic.exclusive_lock`), so none of their changes is lost. If the block
        raises, nothing is saved. Keep slow work (detecting and encoding faces) outside.

        Example::

            encodings = photo_encodings(["ada1.jpg", "ada2.jpg"], encoder)
            with FaceDatabase.editing("door.npz", encoder.name) as db:
                db.add("Ada Lovelace", encodings, if_exists="add")

        On Windows there is no lock (see `workbook.atomic.exclusive_lock`).

        Raises:
            TimeoutError: another process kept the file locked for ten minutes.
            FileNotFoundError, ValueError: as `load` (a damaged file is never overwritten).
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"{path}: a face database file must end in .npz")
        if not path.parent.is_dir():
            raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
        with exclusive_lock(path):
            database = cls.load(path, backend) if path.exists() else cls(encoder_name, backend)
            yield database
            database.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike, backend: str = "auto") -> FaceDatabase:
        """Read a database written by `save`.

        Raises:
            FileNotFoundError: no such file.
            ValueError: the file is not a face database (a folder, not a zip, arrays declaring
                far more bytes than the file holds, names that could not have been enrolled,
                NaN/infinite encodings), or its content does not match its checksum (edited or
                damaged); the message names the file.
        """
        path = Path(path)
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not a face database file (.npz)")
        if not path.is_file():
            raise FileNotFoundError(f"No face database at {path}")
        fix = " Restore it from a backup or enroll the people again into a new file."
        try:
            _check_declared_sizes(path)
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format_version"])
                encoder_name = str(data["encoder_name"])
                names = [str(n) for n in data["names"]]
                encodings = np.asarray(data["encodings"], dtype=np.float32)
                checksum = str(data["checksum"])
        except _RefusedFile as error:
            raise ValueError(f"{path}: {error}.{fix}") from None
        except Exception as error:  # numpy and zipfile raise many kinds on a damaged file
            raise ValueError(
                f"{path}: not a readable face database ({type(error).__name__}: {error}).{fix}"
            ) from error
        if version != _FORMAT_VERSION:
            raise ValueError(f"{path}: face database format {version}, expected {_FORMAT_VERSION}")
        if encodings.shape != (len(names), ENCODING_DIM):
            raise ValueError(f"{path}: {len(names)} names but encodings of shape {encodings.shape}")
        for name in dict.fromkeys(names):  # older files may have spaces or long names: kept
            if not name.strip() or any(
                unicodedata.category(c) in _BAD_NAME_CATEGORIES for c in name
            ):
                raise ValueError(
                    f"{path}: the name {name!r} is empty or holds control characters; not a file"
                    f" FaceDatabase.save wrote.{fix}"
                )
        database = cls(encoder_name, backend=backend)
        database._names, database._encodings = names, encodings
        if database._checksum() != checksum:
            raise ValueError(
                f"{path}: checksum mismatch, the file was edited or damaged after it was saved."
                + fix
            )
        if not np.isfinite(encodings).all():
            rows = ~np.isfinite(encodings).all(axis=1)
            bad = sorted({name for name, row in zip(names, rows, strict=True) if row})
            raise ValueError(
                f"{path}: the encodings of {', '.join(map(repr, bad))} contain NaN or infinite"
                " values, which would make every search answer NaN." + fix
            )
        return database


class _RefusedFile(ValueError):
    """A file refused from its zip and array headers, before any array was read."""


def _check_declared_sizes(path: Path) -> None:
    """Refuse a database whose arrays declare more bytes than such a file can hold.

    Reads only the zip directory and each ``.npy`` member's header (shape and dtype), so a
    2 MB file that declares 2 GB of encodings is refused without allocating them.

    Raises:
        _RefusedFile: a header that disagrees with its zip entry, an unknown header version,
            an object dtype, or arrays totalling over `_MAX_EXPANSION` times the file's size.
    """
    on_disk = path.stat().st_size
    limit = max(1 << 20, _MAX_EXPANSION * on_disk)
    total = 0
    with zipfile.ZipFile(path) as archive:
        for member in _MEMBERS:
            try:
                info = archive.getinfo(f"{member}.npy")
            except KeyError:
                raise _RefusedFile(f"no {member!r} array; not a face database") from None
            with archive.open(info) as stream:
                version = np.lib.format.read_magic(stream)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
                else:
                    raise _RefusedFile(f"{member}: unsupported .npy header version {version}")
                header = stream.tell()
            if dtype.hasobject:
                raise _RefusedFile(f"{member}: holds Python objects; not a face database")
            declared = math.prod(shape) * dtype.itemsize
            if declared != info.file_size - header:
                raise _RefusedFile(
                    f"{member}: its header declares {shape} {dtype} ({declared:,} bytes) but the"
                    f" zip entry holds {info.file_size - header:,} bytes (refused before reading)"
                )
            total += declared
    if total > limit:
        raise _RefusedFile(
            f"its arrays declare {total / 1e6:,.0f} MB in a file of {on_disk / 1e6:,.1f} MB"
            f" (over {_MAX_EXPANSION} times; a zip bomb, not a file FaceDatabase.save wrote;"
            " refused before reading)"
        )


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
