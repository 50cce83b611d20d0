"""Where does a trained OV2VSS get (or fail to get) its temporal benefit? Probes on the demo world.

Reads a demo output folder (`openvidseg demo --out DIR ...`: DIR/seed<N>/<row>/model.safetensors, the
world named in each row's config.yaml) and evaluates each trained row in clip mode on the validation videos,
as the demo does, then again with parts of a corrupted target frame's features swapped for those of the
last clean frame before it:

- `as evaluated`: the demo's setting;
- `CLIP from clean`: the target's dense CLIP embeddings (which the cost volume is built from) replaced;
- `appearance from clean`: the target's appearance levels (guidance, STF queries) replaced;
- `both from clean`: every feature of the target replaced (about: the last clean frame's prediction);
- `no references`: the references replaced by the target itself (STF sees no other frame);
- `no long-range frame`: RFE's frame replaced by the target.

For models with temporal cost fusion it also prints the share of the fusion's weight the target keeps.

Prints mIoU (%) over corrupted frames by kind (noise, blur, dropped) and over clean frames, per row and probe.
Usage: python benchmarks/ov2vss_temporal_probe.py DIR [--rows ov2vss frame ...] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from openvidseg.data import VSPWDataset
from openvidseg.data.sampling import eval_clip_indices
from openvidseg.demo.world import read_corrupted
from openvidseg.inference.frames import frame_tensor
from openvidseg.metrics import SegmentationMetric
from openvidseg.models import load_model
from openvidseg.models.base import FrameFeatures

PROBES = ("as evaluated", "CLIP from clean", "appearance from clean", "both from clean", "no references",
          "no long-range frame")
KINDS = ("noise", "blur", "drop", "clean")


def corruption_kind(frame: np.ndarray, clean: np.ndarray) -> str:
    """'drop' (a flat frame), 'noise' (more pixel-to-pixel change than the clean frame) or 'blur'."""
    if frame.std() == 0:
        return "drop"
    roughness = lambda f: np.abs(np.diff(f.astype(np.float32), axis=1)).mean()  # noqa: E731
    return "noise" if roughness(frame) > roughness(clean) else "blur"


def probe_features(probe: str, feats: list[FrameFeatures], t: int, clean: int) -> FrameFeatures:
    target = feats[t]
    if probe == "CLIP from clean":
        return FrameFeatures(feats[clean].clip, target.levels)
    if probe == "appearance from clean":
        return FrameFeatures(target.clip, feats[clean].levels)
    if probe == "both from clean":
        return feats[clean]
    return target


@torch.inference_mode()
def evaluate_probes(model, world: Path, probes) -> dict[str, dict[str, float]]:
    """{probe: {kind: mIoU %}} over the world's validation videos."""
    data = VSPWDataset(world, "val", split=str(world / "seen_classes.json"))
    protocol = data.split.protocol("gzsl")
    text = model.text_embeddings(protocol.vocabulary("clean"))
    corrupted, lut = read_corrupted(world), protocol.gt_lut()
    metrics = {p: {k: SegmentationMetric(protocol.num_classes) for k in KINDS} for p in probes}
    on_target: dict[str, list[float]] = {k: [] for k in KINDS}  # TCF: the weight the target keeps, per frame
    for video in data.videos:
        frames = [video.frame(i) for i in range(len(video))]
        feats = [model.encode_frames(frame_tensor(f, model.device)) for f in frames]
        bad = corrupted.get(video.name, set())
        for t in sorted(video.labelled):
            clean = max((i for i in range(t) if i not in bad), default=t)
            kind = corruption_kind(frames[t], frames[clean]) if t in bad else "clean"
            refs, far = eval_clip_indices(t, len(video), model.ref_offsets)
            gt = lut[video.mask(t)]
            fusion = getattr(model, "cost_fusion", None)
            if fusion is not None:
                values = [F.normalize(feats[i].clip, dim=1) for i in (*refs, t)]
                on_target[kind].append(fusion.weights(values)[:, -1].sum(dim=1).mean().item())
            for probe in probes:
                target = probe_features(probe, feats, t, clean)
                ref_feats = [target if probe == "no references" else feats[i] for i in refs]
                context = None
                if model.uses_random_frame:
                    context = model.random_context(target if probe == "no long-range frame" else feats[far])
                logits = model.decode(target, ref_feats, context, text, frames[t].shape[:2]).logits
                metrics[probe][kind].update(logits[0].argmax(0), torch.from_numpy(gt))
    result = {p: {k: 100 * (m.compute().miou or 0.0) for k, m in by_kind.items()} for p, by_kind in metrics.items()}
    if any(on_target.values()):
        result["TCF weight on the target (%)"] = {k: 100 * statistics.fmean(v) if v else 0.0 for k, v in on_target.items()}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a demo output folder")
    ap.add_argument("--rows", nargs="+", default=["ov2vss", "frame"])
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = args.seeds or sorted(int(p.name[4:]) for p in args.run.glob("seed*"))
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for seed in seeds:
        for row in args.rows:
            folder = args.run / f"seed{seed}" / row.replace(" ", "_")
            world = Path(OmegaConf.load(folder / "config.yaml").data.root)
            model = load_model(folder / "model.safetensors").eval()
            probes = [p for p in PROBES if model.ref_offsets or p != "no references"]
            probes = [p for p in probes if model.uses_random_frame or p != "no long-range frame"]
            for probe, by_kind in evaluate_probes(model, world, probes).items():
                results.setdefault((row, probe), []).append(by_kind)
                print(f"seed {seed} {row} / {probe}: " + ", ".join(f"{k} {v:.1f}" for k, v in by_kind.items()),
                      flush=True)
    print(f"\nmIoU (%) by frame kind, mean over seeds {seeds}\n")
    print("| row | probe | " + " | ".join(KINDS) + " |\n|---|---|" + "---|" * len(KINDS))
    for (row, probe), runs in results.items():
        print(f"| {row} | {probe} | " + " | ".join(f"{statistics.fmean(r[k] for r in runs):.1f}" for k in KINDS) + " |")


if __name__ == "__main__":
    main()
