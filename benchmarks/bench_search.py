"""Identification speed over large galleries: the course's Python loop vs numpy vs FAISS.

    python benchmarks/bench_search.py [--sizes 1000 100000 1000000] [--queries 20]

A gallery of ``n`` random unit vectors in 128-D stands in for enrolled encodings; each
query is a gallery vector plus noise (distance about 0.3, like a new photo of an enrolled
person), so the right answer is known. Three ways to find the nearest row:

* the course's loop: ``for name, enc in database.items(): np.linalg.norm(encoding - enc)``;
* `FaceDatabase` with ``backend="numpy"``: one matrix-vector product over the gallery;
* `FaceDatabase` with ``backend="faiss"``: exact flat index below ``IVF_MIN_GALLERY`` rows,
  inverted-file index (approximate) above; its recall@1 is printed.

Prints ms/query (median) and speedups over the loop. The loop is timed on fewer queries
at large sizes (it takes seconds each). Shared machine: absolute times include other load.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fr_utils.database import FaceDatabase  # noqa: E402


def unit(rng, n: int) -> np.ndarray:
    x = rng.standard_normal((n, 128), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def course_loop(encoding: np.ndarray, database: dict) -> tuple[float, str]:
    """The course's `who_is_it` inner loop, as students write it."""
    min_dist, identity = 100.0, None
    for name, db_enc in database.items():
        dist = np.linalg.norm(encoding - db_enc)
        if dist < min_dist:
            min_dist, identity = dist, name
    return min_dist, identity


def per_query_ms(function, queries) -> tuple[float, list]:
    times, answers = [], []
    for query in queries:
        start = time.perf_counter()
        answers.append(function(query))
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    header = f"{'gallery':>9} {'loop ms':>9} {'numpy ms':>9} {'faiss ms':>9} {'index':>6}"
    header += f" {'build s':>8} {'numpy x':>8} {'faiss x':>8} {'recall':>7}"
    print(header)
    for n in args.sizes:
        gallery = unit(rng, n)
        names = [f"person_{i}" for i in range(n)]
        targets = rng.choice(n, args.queries, replace=False)
        noise = 0.3 / np.sqrt(128) * rng.standard_normal((args.queries, 128), dtype=np.float32)
        queries = gallery[targets] + noise
        truth = [names[t] for t in targets]

        as_dict = {name: gallery[i : i + 1] for i, name in enumerate(names)}
        loop_queries = queries[: max(2, args.queries * 1000 // n)]
        loop = functools.partial(course_loop, database=as_dict)
        loop_ms, loop_answers = per_query_ms(loop, loop_queries)
        assert [a[1] for a in loop_answers] == truth[: len(loop_queries)]

        databases = {}
        for backend in ("numpy", "faiss"):
            db = FaceDatabase(backend=backend)
            db._names, db._encodings = names, gallery  # bulk load, as FaceDatabase.load does
            databases[backend] = db
        numpy_ms, numpy_answers = per_query_ms(databases["numpy"].search, queries)
        assert [a[1][0] for a in numpy_answers] == truth
        start = time.perf_counter()
        index = databases["faiss"]._faiss_index()
        build_s = time.perf_counter() - start
        faiss_ms, faiss_answers = per_query_ms(databases["faiss"].search, queries)
        recall = np.mean([a[1][0] == t for a, t in zip(faiss_answers, truth, strict=True)])
        kind = "ivf" if "IVF" in type(index).__name__ else "flat"
        print(
            f"{n:>9} {loop_ms:>9.2f} {numpy_ms:>9.2f} {faiss_ms:>9.2f} {kind:>6} {build_s:>8.1f}"
            f" {loop_ms / numpy_ms:>7.0f}x {loop_ms / faiss_ms:>7.0f}x {recall:>7.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
