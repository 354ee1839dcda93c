"""Checks for the exercises of notebook 05: the door's `verify` (1:1) and `who_is_it` (1:K).

A student's function calls ``img_to_encoding(image_path, encoder)``. Running a real
network would make a check slow and its distances hard to control, so each check
swaps in a stub ``img_to_encoding`` (in the student function's globals and in
`fr_utils`) that returns hand-made unit encodings at exactly chosen distances, then
compares the student's answer with the library's `fr_utils.verify` / `fr_utils.who_is_it`
on the same stub. Every case is built so that one classic mistake changes the answer,
and the failure message names that mistake.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from fr_utils.database import ENCODING_DIM
from workbook.checking import CheckFailed, as_array, passed

__all__ = ["answer_on_stub_encodings", "check_verify", "check_who_is_it"]


@dataclass
class _StubEncoder:
    """Stands in for a FaceEncoder: the checks' stub img_to_encoding only accepts this one."""

    threshold: float = 0.5
    name: str = "stub_encoder"
    input_size: int = 150
    padding: float = 0.25


def _at_distance(distance: float, axis: int) -> np.ndarray:
    """A (1, 128) unit encoding at L2 ``distance`` from e_0, tilted towards axis ``axis``.

    For unit vectors ||e_0 - v||^2 = 2 - 2 cos(angle), so cos(angle) = 1 - distance^2 / 2.
    """
    if not 0 < axis < ENCODING_DIM:
        raise ValueError(f"axis must be in 1..{ENCODING_DIM - 1}, got {axis}")
    cos = 1.0 - distance**2 / 2.0
    vector = np.zeros((1, ENCODING_DIM), np.float32)
    vector[0, 0], vector[0, axis] = cos, np.sqrt(max(0.0, 1.0 - cos**2))
    return vector


def _probe() -> np.ndarray:
    """The encoding of the photo at the door: e_0."""
    return np.eye(1, ENCODING_DIM, dtype=np.float32)


def _database(distances: dict[str, float]) -> dict[str, np.ndarray]:
    """``{name: (1, 128) encoding}`` with each person at the given distance from the probe."""
    return {name: _at_distance(d, axis) for axis, (name, d) in enumerate(distances.items(), 1)}


@contextlib.contextmanager
def _stub_encodings(function, probes: dict[str, np.ndarray], encoder: _StubEncoder):
    """Make ``img_to_encoding`` return ``probes[image]`` for the student's code and the library."""
    import fr_utils
    import fr_utils.api

    def img_to_encoding(image, model, *args, **kwargs):
        if model is not encoder:
            raise CheckFailed(
                "img_to_encoding was called with another encoder than the function's `encoder`"
                " argument. Pass `encoder` through: img_to_encoding(image_path, encoder)."
            )
        if not isinstance(image, str) or image not in probes:
            raise CheckFailed(
                f"img_to_encoding was called with {image!r}, not with the function's image_path"
                " argument. Encode the photo you were given: img_to_encoding(image_path, encoder)."
            )
        return probes[image].copy()

    namespace = getattr(function, "__globals__", {})
    missing = object()
    saved = {
        "globals": namespace.get("img_to_encoding", missing),
        "package": fr_utils.img_to_encoding,
        "api": fr_utils.api.img_to_encoding,
    }
    namespace["img_to_encoding"] = img_to_encoding
    fr_utils.img_to_encoding = fr_utils.api.img_to_encoding = img_to_encoding
    try:
        yield
    finally:
        fr_utils.img_to_encoding = saved["package"]
        fr_utils.api.img_to_encoding = saved["api"]
        if saved["globals"] is missing:
            namespace.pop("img_to_encoding", None)
        else:
            namespace["img_to_encoding"] = saved["globals"]


def _pair(result, what: str, names: str) -> tuple:
    if result is None:
        raise CheckFailed(f"{what} returned None: did you forget `return {names}`?")
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"{what} should return a tuple ({names}); you returned {result!r}.")
    return result


def _distance(value, what: str) -> float:
    array = as_array(value, what)
    if array.size != 1:
        raise CheckFailed(
            f"{what}: the distance should be one number; you returned shape {array.shape}."
            " Take np.linalg.norm of the difference of the two (1, 128) encodings."
        )
    return float(array.reshape(()))


def check_verify(verify) -> None:
    """Check ``verify(image_path, identity, database, encoder, threshold=None)`` -> (dist, open)."""
    import fr_utils.api

    encoder = _StubEncoder(threshold=0.5)
    people = {"Ada_Lovelace": 0.3, "Grace_Hopper": 0.8, "Alan_Turing": 0.6}
    database = _database(people)
    probes = {"door/visitor.jpg": _probe()}
    cases = [
        ("Ada_Lovelace", None, "the claimed person, at distance 0.3 (threshold 0.5)"),
        ("Grace_Hopper", None, "somebody else, at distance 0.8 (threshold 0.5)"),
        ("Alan_Turing", None, "a look-alike at distance 0.6 (threshold 0.5)"),
        ("Alan_Turing", 0.7, "the same look-alike with threshold=0.7 passed explicitly"),
    ]
    with _stub_encodings(verify, probes, encoder):
        for identity, threshold, story in cases:
            what = f"verify(image_path, {identity!r}, database, encoder, threshold={threshold})"
            expected_dist, expected_open = fr_utils.api.verify(
                "door/visitor.jpg", identity, database, encoder, threshold
            )
            dist, door_open = _pair(
                verify("door/visitor.jpg", identity, database, encoder, threshold),
                what,
                "dist, door_open",
            )
            dist = _distance(dist, what)
            if np.isclose(dist, expected_dist**2, atol=1e-4) and expected_dist > 0:
                raise CheckFailed(
                    f"{what}: dist should be the L2 distance {expected_dist:.3f}; you returned"
                    f" {dist:.3f}, its square. The threshold is on the plain distance"
                    " ||f(x) - f(y)||, so use np.linalg.norm, not the sum of squares."
                )
            if not np.isclose(dist, expected_dist, atol=1e-4):
                raise CheckFailed(
                    f"{what}: dist should be {expected_dist:.3f} ({story}); you returned"
                    f" {dist:.3f}. Compare the photo's encoding with database[identity]."
                )
            if door_open is None or bool(np.asarray(door_open)) != expected_open:
                hint = (
                    "Is the comparison inverted? The door opens when dist <= threshold."
                    if identity != "Alan_Turing"
                    else "Use the threshold argument, and encoder.threshold when it is None."
                )
                raise CheckFailed(
                    f"{what} ({story}): door_open should be {expected_open}; you returned"
                    f" {door_open!r}. {hint}"
                )
    passed("verify")


def check_who_is_it(who_is_it) -> None:
    """Check ``who_is_it(image_path, database, encoder, threshold=None)``.

    It returns ``(min_dist, identity)``, identity None when ``min_dist > threshold``.
    """
    import fr_utils.api

    encoder = _StubEncoder(threshold=0.5)
    probes = {"door/visitor.jpg": _probe()}
    cases = [
        (
            {"Ada_Lovelace": 0.9, "Grace_Hopper": 0.35, "Alan_Turing": 0.7, "Edsger_Dijkstra": 1.1},
            None,
            "an enrolled person: the nearest is Grace_Hopper at 0.35, threshold 0.5",
            "Keep the smallest distance: update min_dist and identity when dist < min_dist.",
        ),
        (
            {"Ada_Lovelace": 0.9, "Grace_Hopper": 0.75, "Alan_Turing": 0.6},
            None,
            "a stranger: the nearest is Alan_Turing at 0.6, beyond the threshold 0.5",
            "Above the threshold the answer is identity None (an unknown person), and"
            " min_dist is still the smallest distance found.",
        ),
        (
            {"Ada_Lovelace": 1.4, "Grace_Hopper": 1.2, "Alan_Turing": 1.3},
            1.5,
            "everybody farther than 1 (unit encodings can be up to 2 apart), threshold=1.5",
            "Start the search with min_dist larger than any distance (e.g. 100 or np.inf),"
            " and use the threshold argument when it is given.",
        ),
        (
            {"Ada_Lovelace": 0.6, "Grace_Hopper": 0.9},
            None,
            "a stranger whose nearest match is at 0.6 (squared: 0.36), threshold 0.5",
            "The threshold is on the plain L2 distance: use np.linalg.norm, not its square.",
        ),
    ]
    with _stub_encodings(who_is_it, probes, encoder):
        for people, threshold, story, hint in cases:
            database = _database(people)
            what = f"who_is_it(image_path, database, encoder, threshold={threshold})"
            expected_dist, expected_name = fr_utils.api.who_is_it(
                "door/visitor.jpg", database, encoder, threshold
            )
            min_dist, identity = _pair(
                who_is_it("door/visitor.jpg", database, encoder, threshold),
                what,
                "min_dist, identity",
            )
            min_dist = _distance(min_dist, what)
            if np.isclose(min_dist, expected_dist**2, atol=1e-4):
                raise CheckFailed(
                    f"{what} for {story}: min_dist should be the L2 distance"
                    f" {expected_dist:.3f}; you returned {min_dist:.3f}, its square. The"
                    " threshold is on the plain distance: use np.linalg.norm, not its square."
                )
            if not np.isclose(min_dist, expected_dist, atol=1e-4) or identity != expected_name:
                raise CheckFailed(
                    f"{what} for {story}: expected ({expected_dist:.3f}, {expected_name!r}),"
                    f" you returned ({min_dist:.3f}, {identity!r}). {hint}"
                )
    passed("who_is_it")


def answer_on_stub_encodings(function, distances: dict[str, float], threshold: float):
    """Run a student's ``who_is_it`` on a database at chosen distances (for hidden tests).

    Args:
        function: ``who_is_it(image_path, database, encoder, threshold=None)``.
        distances: ``{name: L2 distance from the photo at the door}``; at most 127 people.
        threshold: the encoder's threshold (the function is called with ``threshold=None``).

    Returns:
        Whatever ``function`` returns.
    """
    encoder = _StubEncoder(threshold=threshold)
    with _stub_encodings(function, {"door/visitor.jpg": _probe()}, encoder):
        return function("door/visitor.jpg", _database(distances), encoder, None)
