"""Command line: ``python -m nst_utils stylize CONTENT STYLE -o OUT.png [options]``.

A thin layer over `nst_utils.stylize`: it parses the options, runs the optimisation with a
progress bar on stderr, saves the PNG with every parameter in its metadata, and prints one line.
With ``--fast [--strength S]`` it runs `nst_utils.fast_stylize` instead (one forward pass of
Magenta's networks; the optimisation options are ignored).

Exit status (the contract of `workbook.cli`, shared with ``python -m fr_utils``): 0 the image
was written; 2 any error, whatever raised it (a bad option, a missing file or a URL, a
non-image, a decompression bomb, corrupted weights, ...), with a one-line ``error:`` message on
stderr and never a traceback; 130 interrupted.

Everything that can be checked before the optimisation is: the output is a ``.png`` in an
existing, writable folder, not a folder itself and not one of the input images; the inputs are
local image files; the numbers are finite and in range (``--size`` and ``--style-size`` at
least 16 px and small enough for the memory available now, ``--steps`` 1..100000, weights in
``[0, 1e9]``, ``--learning-rate`` above 0, ``--seed`` >= 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from workbook.cli import ArgumentParser, run

__all__ = ["main", "parse_style_layers"]

#: Most optimisation steps the command line accepts (more than a day of CPU at 384 px).
MAX_STEPS = 100_000


def parse_style_layers(text: str) -> list[tuple[str, float]]:
    """Parse ``"block1_conv1:0.2,block2_conv1:0.2"`` into ``[("block1_conv1", 0.2), ...]``.

    A layer without ``:weight`` gets weight 1 / number of layers.
    """
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if not entries:
        raise argparse.ArgumentTypeError("give at least one style layer, e.g. block1_conv1:0.5")
    layers = []
    for entry in entries:
        name, _, weight = entry.partition(":")
        try:
            layers.append((name, float(weight) if weight else 1.0 / len(entries)))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad style layer {entry!r}: write NAME:WEIGHT, e.g. block1_conv1:0.2"
            ) from None
    return layers


def _parser() -> argparse.ArgumentParser:
    from nst_utils.backbone import BACKBONES
    from nst_utils.gatys import DEFAULT_CONTENT_LAYER, DEFAULT_STYLE_LAYERS, OPTIMIZERS

    default_layers = ",".join(f"{name}:{weight:g}" for name, weight in DEFAULT_STYLE_LAYERS)
    parser = ArgumentParser(prog="python -m nst_utils", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("stylize", help="paint a photo in the style of an artwork")
    run.add_argument("content", type=Path, help="content photo (any format Pillow reads)")
    run.add_argument("style", type=Path, help="style image; its size and aspect may differ")
    run.add_argument("-o", "--output", type=Path, required=True, help="result, a .png file")
    run.add_argument("--size", type=int, default=384, help="long side in pixels (default 384)")
    run.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    run.add_argument("--alpha", type=float, default=10.0, help="content weight (default 10)")
    run.add_argument("--beta", type=float, default=40.0, help="style weight (default 40)")
    run.add_argument("--tv-weight", type=float, default=0.0, help="smoothing weight (default 0)")
    run.add_argument(
        "--content-layer",
        help=f"default: the backbone's suggestion ({DEFAULT_CONTENT_LAYER} for VGG)",
    )
    run.add_argument(
        "--style-layers",
        type=parse_style_layers,
        help=f"NAME:WEIGHT,... (default: the backbone's suggestion; for VGG {default_layers})",
    )
    run.add_argument(
        "--style-size", type=int, help="long side of the style image (default: --size)"
    )
    run.add_argument("--init", choices=["content", "noise"], default="content")
    run.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    run.add_argument("--learning-rate", type=float, help="Adam's step in pixel units (default 4)")
    run.add_argument("--backbone", choices=BACKBONES, default="vgg16_hed")
    run.add_argument("--seed", type=int, default=0, help="seed of the noise start image")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--fast", action="store_true", help="fast arbitrary style transfer (one forward pass)"
    )
    run.add_argument(
        "--strength", type=float, help="with --fast: amount of style in [0, 1] (default 1)"
    )
    return parser


def _fast(args) -> str:
    import nst_utils
    from nst_utils.images import save_image

    start = time.perf_counter()
    strength = 1.0 if args.strength is None else args.strength
    image = nst_utils.fast_stylize(args.content, args.style, strength, size=args.size)
    seconds = time.perf_counter() - start
    metadata = {
        "method": "fast (Ghiasi et al. 2017, Magenta)",
        "content": str(args.content),
        "style": str(args.style),
        "size": args.size,
        "strength": strength,
        "nst_utils": nst_utils.__version__,
    }
    save_image(args.output, image, metadata)
    height, width = image.shape[:2]
    return f"wrote {args.output} ({width}x{height}, fast, strength {strength:g}, {seconds:.1f} s)"


def _check_output(output: Path, inputs: dict) -> None:
    """Refuse an output path the result could not be written to, before the optimisation."""
    if output.suffix.lower() != ".png":
        raise ValueError(f"the output must be a .png file (it stores the parameters): {output}")
    if output.is_dir():
        raise ValueError(f"-o {output} is a folder; give a file name, e.g. {output / 'out.png'}")
    folder = output.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"Output folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"Output folder {folder} is not writable")
    for what, path in inputs.items():
        same = output.resolve() == path.resolve()
        if not same and output.exists():
            same = os.path.samefile(output, path)
        if same:
            raise ValueError(
                f"-o {output} is the {what} image; writing the result there would destroy it."
                " Choose another output name."
            )


def _check_arguments(args) -> None:
    """The checks that need neither TensorFlow nor the images' pixels."""
    from nst_utils.images import MIN_SIDE
    from workbook.images import image_size

    for what in ("content", "style"):
        image_size(getattr(args, what))  # header only: missing, URL, folder, bomb...
    _check_output(args.output, {"content": args.content, "style": args.style})
    for option in ("size", "style_size"):
        value = getattr(args, option)
        if value is not None and value < MIN_SIDE:
            kind = "positive" if value <= 0 else f"at least {MIN_SIDE}"
            raise ValueError(f"--{option.replace('_', '-')} must be {kind} pixels; got {value}")
    if not 1 <= args.steps <= MAX_STEPS:
        raise ValueError(f"--steps must be between 1 and {MAX_STEPS}; got {args.steps}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")


def _stylize(args) -> str:
    import nst_utils
    from nst_utils.images import save_image

    _check_arguments(args)
    if args.fast:
        return _fast(args)
    if args.strength is not None:
        raise ValueError("--strength applies to --fast only")
    from nst_utils.gatys import suggested_layers

    backbone = nst_utils.load_backbone(args.backbone)
    args.content_layer, layers = suggested_layers(backbone, args.content_layer, args.style_layers)
    args.style_layers = [list(entry) for entry in layers]
    final = {}
    start = time.perf_counter()
    image = nst_utils.stylize(
        args.content,
        args.style,
        size=args.size,
        steps=args.steps,
        alpha=args.alpha,
        beta=args.beta,
        tv_weight=args.tv_weight,
        content_layer=args.content_layer,
        style_layers=args.style_layers,
        init=args.init,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        backbone=backbone,
        style_size=args.style_size,
        seed=args.seed,
        progress=not args.quiet,
        callback=lambda info: final.update(cost=info.cost, **info.parts),
    )
    seconds = time.perf_counter() - start
    metadata = {
        "content": str(args.content),
        "style": str(args.style),
        **{key: getattr(args, key) for key in ("size", "steps", "alpha", "beta", "tv_weight")},
        **{key: getattr(args, key) for key in ("content_layer", "init", "optimizer", "seed")},
        "style_layers": args.style_layers,
        "style_size": args.style_size,
        "learning_rate": args.learning_rate,
        "backbone": args.backbone,
        "final_cost": final.get("cost"),
        "nst_utils": nst_utils.__version__,
    }
    save_image(args.output, image, metadata)
    cost = f", J={final['cost']:.4g}" if final else ""
    height, width = image.shape[:2]
    return f"wrote {args.output} ({width}x{height}, {args.steps} steps{cost}, {seconds:.0f} s)"


def _main(argv: list[str]) -> int:
    print(_stylize(_parser().parse_args(argv)))
    return 0


def main(argv=None) -> int:
    """Run the command line; return the exit status (0 written, 2 any error)."""
    return run(_main, [str(a) for a in (sys.argv[1:] if argv is None else argv)])
