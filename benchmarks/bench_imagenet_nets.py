"""Forward-pass speed of the offline ImageNet networks, with VGG-16 (HED) as the reference.

Notebook 06 runs a network over the 1000 ImageNet sample photos and their mirror images
(2000 images of 224 px) within its 4-minute budget on 2 CPU cores. This prints, for each
network, ms per 224 px image and the time for those 2000 images, for a plain compiled
forward pass (``tf.function``) and with XLA (``jit_compile=True``), side by side with HED's
VGG-16 conv stack (the notebook's network before) on the same images:

* ``squeezenet_imagenet`` up to ``fire9_concat``;
* ``darknet_tiny_imagenet`` up to ``conv2d_16`` (all its convolutions);
* ``vgg16_hed`` up to ``block5_conv3``.

Timings on a shared machine include contention from other processes; run on an idle one.

    python benchmarks/bench_imagenet_nets.py [--images 1000] [--reference-images 100] [--batch 50]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from nst_utils.backbone import load_backbone  # noqa: E402
from workbook.resources import data_path  # noqa: E402

NETWORKS = ("squeezenet_imagenet", "darknet_tiny_imagenet", "vgg16_hed")


def sample_images(count: int) -> np.ndarray:
    """The first ``count`` ImageNet sample photos, resized from 256 to 224 px, uint8."""
    folder = data_path("imagenet_samples")
    with open(folder / "classes.csv", newline="") as handle:
        files = [row["file"] for row in csv.DictReader(handle)][:count]
    return np.stack(
        [np.asarray(Image.open(folder / f).convert("RGB").resize((224, 224))) for f in files]
    )


def seconds(backbone, images: np.ndarray, batch: int, jit: bool) -> float:
    """Wall time of one pass over ``images`` (after a warm-up batch that compiles)."""
    forward = tf.function(lambda x: backbone.model(backbone.preprocess(x)), jit_compile=jit)
    forward(tf.constant(images[:batch]))
    start = time.perf_counter()
    for i in range(0, len(images), batch):
        forward(tf.constant(images[i : i + batch])).numpy()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--reference-images", type=int, default=100, help="for VGG-16 (slow)")
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    images = sample_images(args.images)
    print(f"{len(images)} images of 224 px, batch {args.batch}, {os.cpu_count()} CPUs visible")
    print(f"{'network':24s} {'ms/image':>9s} {'XLA ms/image':>13s} {'2000 images (s)':>16s}")
    for name in NETWORKS:
        backbone = load_backbone(name)
        subset = images[: args.reference_images] if name == "vgg16_hed" else images
        plain = seconds(backbone, subset, args.batch, jit=False) / len(subset) * 1e3
        xla = seconds(backbone, subset, args.batch, jit=True) / len(subset) * 1e3
        print(f"{name:24s} {plain:9.1f} {xla:13.1f} {2 * min(plain, xla):16.0f}")


if __name__ == "__main__":
    main()
