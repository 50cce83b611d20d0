"""Build every registered model variant with random weights of its real size and time one frame.

Usage: python benchmarks/variants.py [--size 480 854] [--classes 20]
Prints a table: variant, family, trainable parameters, build seconds, one-frame milliseconds (clip mode,
references and random frame included). CLIP and backbone weights are random (`random:<size>`), so no
download is needed; the predictions are meaningless, the sizes and costs are real.
"""
from __future__ import annotations

import argparse
import time

import torch

from openvidseg.models import create_model, get_variant, list_models

RANDOM_CLIP = {"openai/clip-vit-base-patch16": "random:vit-b-16", "openai/clip-vit-large-patch14": "random:vit-l-14"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, nargs=2, default=[480, 854])
    ap.add_argument("--classes", type=int, default=20)
    args = ap.parse_args()
    names = [f"class {i}" for i in range(args.classes)]
    print(f"input {args.size[0]}x{args.size[1]}, K={args.classes}, {torch.get_num_threads()} threads\n")
    print("| variant | family | trainable params | build s | one frame ms |\n|---|---|---|---|---|")
    for name in list_models():
        variant = get_variant(name)
        overrides = {"clip": RANDOM_CLIP.get(variant.clip, variant.clip)}
        if variant.options.get("backbone", "clip") != "clip" and "backbone_source" not in variant.options:
            overrides["backbone_source"] = "random"
        start = time.perf_counter()
        model = create_model(name, **overrides).eval()
        built = time.perf_counter() - start
        frames = torch.randint(0, 256, (1, len(model.ref_offsets) + 1, 3, *args.size), dtype=torch.uint8)
        with torch.inference_mode():
            start = time.perf_counter()
            if variant.task == "semantic":
                scores = model(frames, names, frames[:, -1])["logits"]
            else:  # instance models: one frame, (1, Q, K) class logits
                scores = model(frames, names)["class_logits"]
            elapsed = (time.perf_counter() - start) * 1000
        assert scores.shape[-1 if variant.task != "semantic" else 1] == args.classes
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(f"| {name} | {variant.family} | {trainable:,} | {built:.1f} | {elapsed:.0f} |")


if __name__ == "__main__":
    main()
