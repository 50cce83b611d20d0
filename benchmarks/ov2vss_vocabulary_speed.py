"""OV2VSS's cost against the vocabulary size, head variants side by side in one process: the whole
streaming frame (CLIP + backbone, then decoding with STF, RFE, VTE, cost volume, aggregation, decoder and
the class map at the frame's size) as a ratio to one CLIP image forward measured in the same process.

Rows: `before` (every class at once through the per-class stages, logits resized to the frame for all K
classes: the class-chunk and class-map shortcuts off, no pruning), `class_pruning=0` (per-class stages
in class chunks, class maps from the decoder's grid; the same output), `class_pruning=k` (inference only,
k = 20 by default: the k classes with the highest peak probability by CLIP's raw zero-shot logits go
through VTE, aggregation and the decoder), and the large-vocabulary options, which change the model. Text embeddings are random
(K x 80 x 512, the shape the ImageNet templates give): the vocabulary is encoded once per vocabulary and
cached, and is not part of a frame's cost. Rounds alternate the rows, so a busy machine slows them alike;
the medians are printed. Accuracy of each option: benchmarks/ov2vss_vocabulary_accuracy.py.

Usage: python benchmarks/ov2vss_vocabulary_speed.py [--classes 20 124] [--rounds 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from openvidseg.inference.class_map import class_map, upsampled_class_map
from openvidseg.models import create_model

ALL_THREE = {"vte_queries": "classes", "cost_templates": 8, "class_attention_stride": 2}
VARIANTS = {  # name: (model options, class_pruning k; 0 = off)
    "before": ({}, 0),
    "class_pruning=0 (exact)": ({}, 0),
    "default (class_pruning=20)": ({}, 20),
    "class_pruning=32": ({}, 32),
    "vte_queries=classes": ({"vte_queries": "classes"}, 0),
    "+ cost_templates=8": ({"vte_queries": "classes", "cost_templates": 8}, 0),
    "+ class_attention_stride=2 (all three)": (ALL_THREE, 0),
    "all three + class_pruning=20": (ALL_THREE, 20),
}


def frame_ms(model, image, refs, context, text, size, before: bool) -> float:
    chunks = (model.decoder.class_chunk, model.aggregation.class_chunk)
    if before:
        model.decoder.class_chunk = model.aggregation.class_chunk = 0
    start = time.perf_counter()
    target = model.encode_frames(image)
    out = model.decode(target, refs, context, text, size if before else None).logits
    (class_map(out) if before else upsampled_class_map(out, size))
    elapsed = time.perf_counter() - start
    model.decoder.class_chunk, model.aggregation.class_chunk = chunks
    return elapsed * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="random:vit-b-16")
    ap.add_argument("--size", type=int, nargs=2, default=[480, 854])
    ap.add_argument("--classes", type=int, nargs="+", default=[20, 124])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    built, models = {}, {}
    for name, (options, keep) in VARIANTS.items():  # class pruning is inference-only: one model per option set
        key = repr(sorted(options.items()))
        if key not in built:
            torch.manual_seed(0)
            built[key] = create_model("ov2vss_vitb16", clip=args.clip, **options).eval()
        models[name] = (built[key], keep)
    with torch.inference_mode():
        measure(models, args)


def measure(models, args) -> None:
    size = tuple(args.size)
    base = models["before"][0]
    image = torch.randint(0, 256, (1, 3, *size), dtype=torch.uint8).float()
    refs = [base.encode_frames(image) for _ in base.ref_offsets]
    context = base.random_context(refs[0])
    pixels = base.clip.preprocess(image, base.clip_image_size)
    times: dict[tuple[str, int], list[float]] = {}
    clip_ms: list[float] = []
    for _ in range(args.rounds + 1):  # the first round warms up
        start = time.perf_counter()
        base.clip.dense_features(pixels, layers=base.backbone.clip_layers, path=base.dense_path)
        clip_ms.append((time.perf_counter() - start) * 1000)
        for k in args.classes:
            text = torch.randn(k, 80, base.clip.embed_dim)
            for name, (model, keep) in models.items():
                model.class_pruning = keep
                times.setdefault((name, k), []).append(frame_ms(model, image, refs, context, text, size, name == "before"))
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    clip = statistics.median(clip_ms[1:])
    print(f"load average {load}; {torch.get_num_threads()} threads; input {size[0]}x{size[1]}; CLIP image forward "
          f"{clip:.0f} ms (median of {args.rounds})\n")
    print("| head | " + " | ".join(f"K={k} ms | K={k} / CLIP" for k in args.classes) + " |")
    print("|---|" + "---|---|" * len(args.classes))
    for name in VARIANTS:
        cells = []
        for k in args.classes:
            ms = statistics.median(times[(name, k)][1:])
            cells.append(f"{ms:.0f} | {ms / clip:.2f}x")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
