"""Style transfer speed: `nst_utils.stylize` against a TF-tutorial-style loop, side by side.

The reference is what the TensorFlow style-transfer tutorial teaches: one extractor model that
returns the content activation and the style Gram matrices, a ``@tf.function`` train step with
``GradientTape``, Adam (learning rate 0.02, beta_1 0.99, epsilon 0.1 on a [0, 1] image) and the
image clipped to [0, 1] after every step. Both use the same backbone (HED VGG-16), layers,
weights (alpha 10, beta 40), image size and start image (the content photo), and the same cost
formulas (CONVENTIONS.md).

Printed:

* the machine's peak: GFLOP/s of a large float32 matrix product, timed in every round, so
  each step is compared with the peak measured beside it;
* per step, at each size: FLOPs counted from each step's graph (`nst_utils.count_flops`),
  ms per step, GFLOP/s and share of the peak, for the reference, ours and ours under XLA
  (``jit_compile=True``). The variants are timed in alternation, ``--rounds`` times
  ``--timed-steps`` steps each, and the medians are reported, so the machine's load falls on
  all of them alike;
* time to quality: wall time (targets, tracing and all) until the total cost falls to the
  reference's cost after a third, two thirds and all of ``--ref-steps`` Adam steps at that
  size, for both, and the ratios (one run of each: ours records when it passes each cost).
  Costs are comparable only at one size, so at 512 px ours counts only its last level: it runs
  the coarse-to-fine schedule ``--coarse`` (default 30 steps at 128 px, 10 at 256 px) and
  then refines at 512 px.

The 2 CPU cores may be shared with other jobs: every block prints ``uptime``'s load, and the
ratios (measured in the same run) are more trustworthy than the absolute numbers.

    python benchmarks/bench_nst.py [--sizes 256 512] [--rounds 3] [--timed-steps 3]
        [--ref-steps 100 60] [--coarse 128:30,256:10] [--skip step quality rss]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import nst_utils  # noqa: E402
from nst_utils.gatys import _Memory, _Objective, _steps  # noqa: E402
from workbook import data_path  # noqa: E402
from workbook.images import load_image  # noqa: E402

CONTENT = "photos/bern_from_north.jpg"
STYLE = "art/starry_night.jpg"
ALPHA, BETA = 10.0, 40.0
LAYER = nst_utils.DEFAULT_CONTENT_LAYER
STYLE_LAYERS = nst_utils.DEFAULT_STYLE_LAYERS
PEAK_N = 2048  # the peak's matrix product: (N x N) @ (N x N), 2 N^3 FLOPs
DEFAULT_COARSE = "128:30,256:10"  # ours' levels below the benchmarked size (above 256 px)


def load() -> str:
    """The 1-minute load average, as ``uptime`` prints it."""
    return f"load {os.getloadavg()[0]:.2f}"


def peak_gflops(repeats: int = 3) -> float:
    """GFLOP/s of the best of ``repeats`` float32 (N x N) @ (N x N) products, NumPy's or TF's.

    NumPy's BLAS (OpenBLAS) was the faster of the two here; TensorFlow's own MatMul reached
    only 50-85 GFLOP/s while its oneDNN convolutions reached 140, so a step can exceed 100%.
    """
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((PEAK_N, PEAK_N)).astype(np.float32) for _ in range(2))
    ta, tb = tf.constant(a), tf.constant(b)
    matmul = tf.function(tf.matmul)
    matmul(ta, tb).numpy()
    best = np.inf
    for _ in range(repeats):
        for product in (lambda: a @ b, lambda: matmul(ta, tb).numpy()):
            start = time.perf_counter()
            product()
            best = min(best, time.perf_counter() - start)
    return 2 * PEAK_N**3 / best / 1e9


class Reference:
    """The tutorial-style loop: extractor with preprocessing inside, GradientTape, Adam."""

    def __init__(self, backbone, content, style):
        names = [name for name, _ in STYLE_LAYERS]
        weights = [weight for _, weight in STYLE_LAYERS]
        features = nst_utils.feature_extractor(backbone, names, LAYER)

        def gram(a):  # the same normalised Gram matrix as CONVENTIONS.md's style cost
            n_H, n_W, n_C = a.shape[1], a.shape[2], a.shape[3]
            unrolled = tf.transpose(tf.reshape(a, (-1, n_C)))
            return tf.matmul(unrolled, unrolled, transpose_b=True) / (n_C * n_H * n_W)

        def extractor(image01):  # the tutorial's StyleContentModel
            outputs = features([backbone.preprocess(image01 * 255.0)])
            return outputs[LAYER], [gram(outputs[name]) for name in names]

        content_target, _ = extractor(tf.constant(content[None] / 255.0))
        _, style_targets = extractor(tf.constant(style[None] / 255.0))
        self.image = tf.Variable(content[None] / 255.0, dtype=tf.float32)
        self.optimizer = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

        def cost_and_gradient():
            with tf.GradientTape() as tape:
                content_act, grams = extractor(self.image)
                J_content = nst_utils.compute_content_cost(content_target, content_act)
                J_style = tf.add_n(
                    [
                        w * tf.reduce_sum(tf.square(t - g)) / 4.0
                        for w, t, g in zip(weights, style_targets, grams, strict=True)
                    ]
                )
                J = ALPHA * J_content + BETA * J_style
            return J, tape.gradient(J, self.image)

        @tf.function
        def train_step():
            J, grad = cost_and_gradient()
            self.optimizer.apply_gradients([(grad, self.image)])
            self.image.assign(tf.clip_by_value(self.image, 0.0, 1.0))
            return J

        self.train_step = train_step
        self.cost_and_gradient = tf.function(cost_and_gradient)

    def flops(self) -> int:
        return nst_utils.count_flops(self.cost_and_gradient)["total"]

    def step(self) -> None:
        self.train_step().numpy()


class Ours:
    """One step of `stylize`'s L-BFGS: its compiled cost and gradient, then its direction.

    The direction is computed with a full memory (20 pairs), the most it ever costs.
    """

    def __init__(self, backbone, content, style, jit_compile):
        self.objective = _Objective(
            backbone,
            content=content,
            style=style,
            content_layer=LAYER,
            style_layers=STYLE_LAYERS,
            alpha=ALPHA,
            beta=BETA,
            tv_weight=0.0,
            jit_compile=jit_compile,
        )
        self.x = tf.constant(backbone.preprocess(content[None]))
        self.spec = tf.TensorSpec(self.x.shape, tf.float32)
        self.memory = _Memory(self.x.shape)
        rng = np.random.default_rng(0)
        for _ in range(self.memory.size):
            s, y = tf.constant(rng.uniform(0.5, 1.5, (2, *self.x.shape)), tf.float32)
            self.memory.add(s, y, float(tf.reduce_sum(s * y)))

    def flops(self) -> int:
        return nst_utils.count_flops(self.objective.traceable, self.spec)["total"]

    def step(self) -> None:
        J, _, grad = self.objective.value_and_grad(self.x)
        float(J)
        direction = self.memory.direction(grad)
        (self.x + direction).numpy()


def per_step(backbone, size, rounds, timed_steps):
    """ms per step, GFLOP/s and share of peak for reference, ours and ours + XLA at ``size``."""
    content = nst_utils.load_float_image(data_path(CONTENT), size)
    style = nst_utils.load_float_image(data_path(STYLE), size)
    variants = {
        "reference (tape + Adam)": Reference(backbone, content, style),
        "ours": Ours(backbone, content, style, jit_compile=False),
        "ours, XLA": Ours(backbone, content, style, jit_compile=True),
    }
    first_call = {}
    for name, variant in variants.items():  # tracing (and XLA compilation) happen here
        start = time.perf_counter()
        variant.step()
        first_call[name] = time.perf_counter() - start
    flops = {name: variant.flops() for name, variant in variants.items()}
    times = {name: [] for name in variants}
    peaks, loads = [], []
    names = list(variants)
    for index in range(rounds):
        peaks.append(peak_gflops())
        loads.append(os.getloadavg()[0])
        for name in names[index % 3 :] + names[: index % 3]:  # each goes first in turn
            variant = variants[name]
            start = time.perf_counter()
            for _ in range(timed_steps):
                variant.step()
            times[name].append((time.perf_counter() - start) / timed_steps)
    peak = max(peaks)
    height, width = content.shape[:2]
    print(
        f"\n{size} px ({width}x{height}): peak {peak:.0f} GFLOP/s (best float32 matmul"
        f" {PEAK_N}^3 of {rounds} rounds, {min(peaks):.0f}..{max(peaks):.0f}),"
        f" load {min(loads):.2f}..{max(loads):.2f}"
    )
    print(
        f"  {'variant':<24} {'GFLOP/step':>10} {'ms/step':>8} {'GFLOP/s':>8} {'of peak':>8}"
        f" {'vs ref':>7} {'1st call s':>10}"
    )
    reference = float(np.median(times["reference (tape + Adam)"]))
    rows = {}
    for name in variants:
        seconds = float(np.median(times[name]))
        rate = flops[name] / seconds / 1e9
        rows[name] = seconds
        print(
            f"  {name:<24} {flops[name] / 1e9:>10.1f} {seconds * 1e3:>8.0f} {rate:>8.0f}"
            f" {rate / peak:>8.0%} {reference / seconds:>6.2f}x {first_call[name]:>10.1f}"
        )
    return rows


def reference_run(backbone, content, style, checkpoints):
    """The reference from the content photo, for ``max(checkpoints)`` steps.

    Returns:
        ``{steps: (cost of the image after that many steps, seconds since the start)}`` for
        each checkpoint (seconds include computing the targets and tracing), and the seconds
        per step after the first.
    """
    start = time.perf_counter()
    reference = Reference(backbone, content, style)
    steps, out = max(checkpoints), {}
    elapsed = {}
    for step in range(1, steps + 1):
        J = float(reference.train_step())  # the cost of the image before this update
        if step == 1:
            first = time.perf_counter()
        if step - 1 in elapsed:
            out[step - 1] = (J, elapsed[step - 1])
        if step in checkpoints:
            elapsed[step] = time.perf_counter() - start
    per_step = (time.perf_counter() - first) / max(steps - 1, 1)
    final = float(_cost(backbone, content, style, reference.image.numpy()[0] * 255.0))
    out[steps] = (final, elapsed[steps])
    return out, per_step


def _cost(backbone, content, style, rgb):
    """Total cost of an RGB image with the public cost functions (the common yardstick)."""
    features = nst_utils.feature_extractor(backbone, STYLE_LAYERS, LAYER)
    out = [features([backbone.preprocess(x[None])]) for x in (content, style, rgb)]
    J_content = nst_utils.compute_content_cost(out[0][LAYER], out[2][LAYER])
    J_style = nst_utils.compute_style_cost(out[1], out[2], STYLE_LAYERS)
    return nst_utils.total_cost(J_content, J_style, alpha=ALPHA, beta=BETA)


def ours_run(backbone, sources, content, style, schedule, targets):
    """`stylize` with ``schedule`` until its last level's cost reaches every one of ``targets``.

    Returns:
        (``{target: (seconds, step, work) or None}``, final cost of the returned uint8 image,
        ms per step at the last level, steps done per level). ``work`` counts the steps done
        in last-level steps: a step on a quarter of the pixels counts a quarter.
    """
    last = len(schedule) - 1
    reached, stamps, counts = {}, [], [0] * len(schedule)
    _steps.clear()  # trace again, as the reference does: no head start from earlier runs
    start = time.perf_counter()

    def watch(info):
        counts[info.level] += 1
        if info.level < last:
            return False
        stamps.append(time.perf_counter())
        for target in targets:
            if info.cost <= target and target not in reached:
                work = sum(
                    n * (s / schedule[-1][0]) ** 2
                    for (s, _), n in zip(schedule, counts, strict=True)
                )
                reached[target] = (time.perf_counter() - start, info.step, work)
        return len(reached) == len(targets)

    image = nst_utils.stylize(
        *sources,
        schedule=schedule,
        alpha=ALPHA,
        beta=BETA,
        backbone=backbone,
        callback=watch,
        progress=False,
    )
    final = float(_cost(backbone, content, style, image.astype(np.float32)))
    per_step = (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1) if stamps else float("nan")
    return {t: reached.get(t) for t in targets}, final, per_step, counts


def time_to_quality(backbone, size, ref_steps, schedule):
    """The reference's costs after 1/3, 2/3 and all of ``ref_steps``; ours to each of them.

    Returns:
        rows ``(ref steps, target cost, reference s, ours s or None, ours' steps per level)``.
    """
    sources = load_image(data_path(CONTENT)), load_image(data_path(STYLE))
    content, style = (nst_utils.load_float_image(image, size) for image in sources)
    checkpoints = sorted({max(1, round(ref_steps * k / 3)) for k in (1, 2, 3)})
    before = load()
    reference, ref_per_step = reference_run(backbone, content, style, checkpoints)
    targets = [reference[k][0] for k in checkpoints]
    reached, final, per_step, counts = ours_run(
        backbone, sources, content, style, schedule, targets
    )
    plan = ", ".join(f"{s}:{n}" for s, n in schedule)
    print(
        f"\n{size} px, reference Adam up to {ref_steps} steps; ours L-BFGS, at most {plan}"
        f" ({before} -> {load()}). Work: steps counted at {size} px (a step on a quarter of the"
        " pixels counts a quarter), a ratio free of the machine's load"
    )
    print(
        f"  {'ref steps':>9} {'cost':>9} {'reference s':>11} {'ours s':>7} {'ours step':>9}"
        f" {'speed-up':>8} {'ours work':>9} {'work ratio':>10}"
    )
    rows = []
    for k, target in zip(checkpoints, targets, strict=True):
        ref_seconds = reference[k][1]
        hit = reached[target]
        ours = f"{hit[0]:>7.1f} {hit[1]:>9}" if hit else f"{'-':>7} {'-':>9}"
        ratio = f"{ref_seconds / hit[0]:.1f}x" if hit else "not reached"
        work = f"{hit[2]:>9.1f} {k / hit[2]:>9.1f}x" if hit else ""
        print(f"  {k:>9} {target:>9.4g} {ref_seconds:>11.1f} {ours} {ratio:>8} {work}")
        rows.append((k, target, ref_seconds, hit[0] if hit else None))
    levels = " + ".join(f"{n} at {s} px" for (s, _), n in zip(schedule, counts, strict=True))
    print(
        f"  ours ran {levels}; its returned uint8 image costs {final:.4g}. Per step at"
        f" {size} px in these runs: reference {ref_per_step * 1e3:.0f} ms, ours"
        f" {per_step * 1e3:.0f} ms",
        flush=True,
    )
    return rows


def peak_rss(size: int) -> float:
    """Peak resident memory (GB) of a fresh process that stylises at ``size`` px for 3 steps."""
    code = (
        "import resource, nst_utils; from workbook import data_path;"
        f"nst_utils.stylize(data_path({CONTENT!r}), data_path({STYLE!r}), size={size}, steps=3,"
        " progress=False);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return int(out.stdout.strip().splitlines()[-1]) * 1024 / 1e9  # ru_maxrss is in KiB on Linux


def parse_schedule(text: str) -> list[tuple[int, int]]:
    """``"256:80,512:60"`` -> ``[(256, 80), (512, 60)]``."""
    return [tuple(int(part) for part in level.split(":")) for level in text.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rounds", type=int, default=3, help="alternations per variant")
    parser.add_argument("--timed-steps", type=int, default=3, help="steps per variant and round")
    parser.add_argument(
        "--ref-steps",
        type=int,
        nargs="+",
        default=[100, 60],
        help="reference's Adam steps for time to quality, one per size (default 100 60)",
    )
    parser.add_argument(
        "--coarse",
        type=parse_schedule,
        default=parse_schedule(DEFAULT_COARSE),
        help="ours' coarse levels for sizes above 256, SIZE:STEPS,... (default"
        f" {DEFAULT_COARSE}); the last level is the size itself with --ref-steps steps",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["step", "quality", "rss"])
    parser.add_argument("--rss-size", type=int, default=512)
    args = parser.parse_args(argv)
    if len(args.ref_steps) != len(args.sizes):
        parser.error("give one --ref-steps per --sizes")

    backbone = nst_utils.load_backbone("vgg16_hed")
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, backbone {backbone.name};"
        f" {os.popen('uptime').read().strip()}"
    )
    if "step" not in args.skip:
        print(f"\nPer step (one cost and gradient evaluation), {args.rounds} x {args.timed_steps}")
        for size in args.sizes:
            per_step(backbone, size, args.rounds, args.timed_steps)
    if "quality" not in args.skip:
        print("\nTime to quality: seconds until each reaches the reference's cost after N steps")
        summary = []
        for size, ref_steps in zip(args.sizes, args.ref_steps, strict=True):
            if size <= 256:
                schedule = [(size, ref_steps)]
            else:
                schedule = [*(level for level in args.coarse if level[0] < size), (size, ref_steps)]
            rows = time_to_quality(backbone, size, ref_steps, schedule)
            summary.append((size, *rows[-1]))
        print(f"\n  {'size':>5} {'ref steps':>9} {'reference s':>11} {'ours s':>7} {'speed-up':>8}")
        for size, k, _, ref_s, our_s in summary:
            ratio = f"{ref_s / our_s:.1f}x" if our_s else "-"
            ours = f"{our_s:.1f}" if our_s else "-"
            print(f"  {size:>5} {k:>9} {ref_s:>11.1f} {ours:>7} {ratio:>8}")
    if "rss" not in args.skip and args.rss_size:
        rss = peak_rss(args.rss_size)
        print(f"\nPeak RSS of stylize at {args.rss_size} px: {rss:.2f} GB (limit 3 GB)")
        self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
        print(f"(this benchmark process peaked at {self_rss:.2f} GB)")
    print(f"\n{os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
