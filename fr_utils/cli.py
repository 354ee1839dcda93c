"""Command line: verify two photos, enroll people into a database file, identify a photo.

    python -m fr_utils verify A.jpg B.jpg            # same person?
    python -m fr_utils enroll "Ada Lovelace" ada1.jpg ada2.jpg --db door.npz
    python -m fr_utils identify visitor.jpg --db door.npz

Each command prints one human-readable line per result, or JSON with ``--json``. Exit
codes mean the same for every command:

* 0: same person / identified / enrolled;
* 1: not the same person / nobody known (a clean answer, not an error);
* 2: any error, whatever its kind (a bad option, an unreadable or missing photo, no face,
  a damaged database, corrupted weights, out of memory, ...): one ``error: ...`` line on
  stderr, and under ``--json`` also ``{"error": ..., "type": ...}`` on stdout; never a
  traceback (set ``WORKBOOK_TRACEBACK=1`` to see one when debugging);
* 130: interrupted (Ctrl-C).

(The contract is `workbook.cli`'s, shared with ``python -m nst_utils``.)

Arguments are checked before the face model loads: the photos are local image files (their
headers are read, so a folder, a URL, a non-image or a decompression bomb is refused at once),
the database path ends in ``.npz`` and is not a folder (for ``identify`` it must exist; for
``enroll`` its folder must be writable), the name is valid (`fr_utils.database.check_name`)
and the threshold is a finite distance above 0 (`fr_utils.metrics.check_threshold`).
Enrolling a name the database already holds needs ``--add`` (more photos of that person) or
``--replace`` (these photos instead). Parallel ``enroll`` runs into one database take turns
(a file lock, `fr_utils.FaceDatabase.editing`), so none is lost.

Every photo is read as `fr_utils.img_to_encoding` reads it: its subject is its most
prominent confident face (`fr_utils.faces`); ``--jitters``, ``--alignment``,
``--ambiguous`` and ``--weak`` are that function's options (enroll and query with the same
ones).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from fr_utils.faces import ALIGNMENTS, AMBIGUOUS_CHOICES, DEFAULT_ALIGNMENT, WEAK_CHOICES
from fr_utils.metrics import check_threshold, is_match
from workbook.cli import EXIT_ERROR, EXIT_OK, ArgumentParser, run

__all__ = ["main"]

EXIT_NO_MATCH = 1
EXIT_BAD_INPUT = EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m fr_utils",
        description="Face verification and recognition with a pretrained encoder.",
        epilog="Exit codes: 0 match, 1 no match, 2 error (130 interrupted).",
    )
    parser.add_argument(
        "--model", default="dlib_resnet_v1", help="face encoder (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--jitters",
        type=int,
        default=0,
        help="average the encodings of N jittered copies of each face (dlib's num_jitters)",
    )
    parser.add_argument(
        "--alignment",
        default=DEFAULT_ALIGNMENT,
        choices=ALIGNMENTS,
        help="how face chips are cut: 'dlib' (dlib's own chip, encodings interchangeable with"
        " face_recognition's) or 'mtcnn' (default: %(default)s)",
    )
    parser.add_argument(
        "--ambiguous",
        default="warn",
        choices=AMBIGUOUS_CHOICES,
        help="a photo of two comparable faces: warn and use the more prominent (default),"
        " refuse it (exit code 2), or ignore",
    )
    parser.add_argument(
        "--weak",
        default="warn",
        choices=WEAK_CHOICES,
        help="a photo with no confident face: warn and use its best weak face (default),"
        " refuse it (exit code 2), or ignore",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    threshold_help = (
        "L2 distance under which faces match (default: the encoder's LFW-calibrated"
        " threshold); lower is stricter"
    )
    verify = commands.add_parser("verify", help="are the faces of two photos the same person?")
    verify.add_argument("image_a", type=Path)
    verify.add_argument("image_b", type=Path)
    verify.add_argument("--threshold", type=float, help=threshold_help)

    enroll = commands.add_parser("enroll", help="add a person's photos to a database file")
    enroll.add_argument("name", help="the person's name")
    enroll.add_argument("images", type=Path, nargs="+", help="one or more photos of them")
    enroll.add_argument("--db", type=Path, required=True, help="database file (.npz)")
    existing = enroll.add_mutually_exclusive_group()
    existing.add_argument(
        "--add",
        dest="if_exists",
        action="store_const",
        const="add",
        default="error",
        help="the name is enrolled already: add these photos to theirs",
    )
    existing.add_argument(
        "--replace",
        dest="if_exists",
        action="store_const",
        const="replace",
        help="the name is enrolled already: replace their photos by these",
    )

    identify = commands.add_parser("identify", help="who, of a database, is in a photo?")
    identify.add_argument("image", type=Path)
    identify.add_argument("--db", type=Path, required=True, help="database file (.npz)")
    identify.add_argument("--threshold", type=float, help=threshold_help)
    identify.add_argument(
        "--all-faces",
        action="store_true",
        help="identify every confident face, not only the photo's subject",
    )
    return parser


def _threshold(args, encoder) -> float:
    """The threshold asked for on the command line (validated), or the encoder's own."""
    if args.threshold is None:
        return encoder.threshold
    return check_threshold(args.threshold, "--threshold")


def _check_database_path(path: Path, must_exist: bool) -> None:
    """Refuse a ``--db`` that cannot be a database file, before anything slow runs."""
    if path.suffix != ".npz":
        raise ValueError(f"--db {path}: a face database file must end in .npz")
    if path.is_dir():
        raise ValueError(f"--db {path} is a folder; give a .npz file (e.g. {path / 'door.npz'})")
    if must_exist and not path.exists():
        raise FileNotFoundError(f"No face database at {path}; enroll someone into it first")
    folder = path.parent
    if not must_exist and not folder.is_dir():
        raise FileNotFoundError(f"--db {path}: the folder {folder} does not exist")
    if not must_exist and not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"--db {path}: the folder {folder} is not writable")


def _check_arguments(args) -> None:
    """Every check that needs no model: paths, name, threshold (fail fast, exit 2)."""
    from workbook.images import image_size

    if getattr(args, "threshold", None) is not None:
        args.threshold = check_threshold(args.threshold, "--threshold")
    for name in ("image_a", "image_b", "image"):
        if getattr(args, name, None) is not None:
            image_size(getattr(args, name))  # header only: missing, URL, bomb...
    for image in getattr(args, "images", ()):
        image_size(image)
    if args.command == "enroll":
        from fr_utils.database import check_name

        check_name(args.name)
    if getattr(args, "db", None) is not None:
        _check_database_path(args.db, must_exist=args.command == "identify")


def _options(args) -> dict:
    """The `fr_utils.img_to_encoding` options given on the command line."""
    return {
        "alignment": args.alignment,
        "num_jitters": args.jitters,
        "ambiguous": args.ambiguous,
        "weak": args.weak,
    }


def _verify(args, encoder) -> tuple[dict, str, int]:
    import fr_utils

    threshold = _threshold(args, encoder)
    dist = fr_utils.face_distance(args.image_a, args.image_b, encoder, **_options(args))
    same = is_match(dist, threshold)
    verdict = "same person" if same else "different people"
    text = f"{verdict}: distance {dist:.3f} {'<=' if same else '>'} threshold {threshold:.3f}"
    result = {"same": same, "distance": dist, "threshold": threshold}
    return result, text, EXIT_OK if same else EXIT_NO_MATCH


def _enroll(args, encoder) -> tuple[dict, str, int]:
    from fr_utils.database import FaceDatabase, photo_encodings

    if args.db.exists():  # fail before the slow part: damaged file, other encoder, known name
        known = FaceDatabase.load(args.db)
        known.check_encoder(encoder)
        known.check_addition(args.name, args.if_exists)
    added = photo_encodings(args.images, encoder, **_options(args))
    # Load, add and save under the file's lock: a parallel enroll waits, none is lost.
    with FaceDatabase.editing(args.db, encoder.name) as database:
        database.check_encoder(encoder)
        database.add(args.name, added, if_exists=args.if_exists)
    text = (
        f"enrolled {args.name!r} from {len(added)} photo(s) into {args.db}"
        f" ({len(database)} people, {database.num_encodings} encodings)"
    )
    result = {"name": args.name, "photos": len(added), "people": database.identities}
    return result, text, EXIT_OK


def _identify(args, encoder) -> tuple[dict, str, int]:
    import fr_utils
    from fr_utils.database import FaceDatabase

    database = FaceDatabase.load(args.db)
    database.check_encoder(encoder)
    threshold = _threshold(args, encoder)
    from fr_utils.faces import SUBJECT_MIN_CONFIDENCE, encode_faces

    size, padding = encoder.input_size, encoder.padding
    faces = []
    if args.all_faces:  # every confident face
        faces = fr_utils.align_faces(
            args.image,
            size,
            padding,
            alignment=args.alignment,
            min_confidence=SUBJECT_MIN_CONFIDENCE,
        )
    if not faces:  # the subject (with no confident face: its weak face, or an error)
        options = {k: v for k, v in _options(args).items() if k != "num_jitters"}
        faces = [fr_utils.align_face(args.image, size, padding, **options)]
    found, lines = [], []
    dists, names = database.search(encode_faces(faces, encoder, num_jitters=args.jitters))
    for face, dist, name in zip(faces, dists, names, strict=True):
        known = is_match(float(dist), threshold)
        box = [round(float(v), 1) for v in face.box]
        found.append({"name": name if known else None, "distance": float(dist), "box": box})
        lines.append(
            f"{name} (distance {dist:.3f})"
            if known
            else f"unknown person (closest: {name} at distance {dist:.3f} > {threshold:.3f})"
        )
    any_known = any(f["name"] for f in found)
    return (
        {"faces": found, "threshold": threshold},
        "\n".join(lines),
        (EXIT_OK if any_known else EXIT_NO_MATCH),
    )


def _run(command, args, encoder) -> tuple[dict, str, int]:
    """Run a command; face-rule warnings (ambiguous or weak face) go to stderr and into the
    result's ``warnings``."""
    from fr_utils.faces import AmbiguousFaceWarning, WeakFaceWarning

    ours = (AmbiguousFaceWarning, WeakFaceWarning)
    with warnings.catch_warnings(record=True) as caught:
        for category in ours:
            warnings.simplefilter("always", category)
        result, text, code = command(args, encoder)
    notes = []
    for note in caught:
        if issubclass(note.category, ours):
            notes.append(str(note.message))
            print(f"warning: {note.message}", file=sys.stderr)
        else:  # not ours to handle: show it as Python would have
            warnings.showwarning(note.message, note.category, note.filename, note.lineno)
    if notes:
        result["warnings"] = notes
    return result, text, code


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    _check_arguments(args)
    import fr_utils

    encoder = fr_utils.load_face_model(args.model)
    command = {"verify": _verify, "enroll": _enroll, "identify": _identify}[args.command]
    result, text, code = _run(command, args, encoder)
    print(json.dumps(result) if args.json else text)
    return code


def main(argv=None) -> int:
    """Run the command line; return the exit status (0 match, 1 no match, 2 error)."""
    argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    return run(_main, argv, as_json="--json" in argv)
