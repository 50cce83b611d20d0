"""Training speed of the tiny presets (1 process and 2 gloo processes under torchrun) and the size on disk of
an `ov2vss_vitb16` checkpoint; prints two tables.

Usage: python benchmarks/train_speed.py [--steps 60] [--presets ov2vss_tiny_synthetic frame_tiny_synthetic]
       [--no-size]

Speed: `openvidseg train` runs in a child process on the preset's generated data (batch 2 per process, no
evaluation, a checkpoint only at the end); it/s is the mean of the log records after the first (start-up)
window. 1 process is timed with 1 and with 2 intra-op threads, 2 processes with 1 thread each (torchrun's
default). A step of 2 processes holds twice the clips (the global batch is per-process batch x processes).
Size: ov2vss_vitb16 on a random ViT-B/16 CLIP (`random:vit-b-16`; frozen CLIP weights are not stored),
after one AdamW step so the optimizer holds its moment estimates, written as a training checkpoint.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def steps_per_second(preset: str, steps: int, processes: int, threads: int, folder: Path) -> tuple[float, int]:
    """(mean it/s after the first log window, global batch) of a short run of `preset`."""
    from openvidseg.config import load_config
    from openvidseg.engine.event_log import read_log

    out = folder / f"{preset}_{processes}x{threads}"
    args = ["train", "--config", preset, "--no-progress", "--overwrite", f"output_dir={out}",
            f"data.root={folder / 'data'}", f"train.max_iters={steps}", "train.eval_interval=0",
            "train.checkpoint_interval=0", f"train.log_interval={max(1, steps // 6)}"]
    launcher = [sys.executable, "-m", "openvidseg"] if processes == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes), "-m", "openvidseg"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p)}
    subprocess.run([*launcher, *args], check=True, env=env, cwd=folder, capture_output=True, text=True)
    records = read_log(out / "log.jsonl", "train")[1:]
    batch = load_config(preset).data.batch_size * processes
    return sum(r["it/s"] for r in records) / len(records), batch


def checkpoint_sizes(folder: Path) -> dict[str, int]:
    """Bytes of each file of an ov2vss_vitb16 training checkpoint (model, JSON, training state)."""
    import torch

    from openvidseg.engine.checkpoint import CheckpointManager
    from openvidseg.engine.optimizer import build_optimizer
    from openvidseg.models import create_model

    model = create_model("ov2vss_vitb16", clip="random:vit-b-16")
    optimizer = build_optimizer(model, lr=3e-6, head_lr_mult=10.0, weight_decay=0.01)
    for group in optimizer.param_groups:
        for param in group["params"]:
            param.grad = torch.zeros_like(param)
    optimizer.step()  # allocates exp_avg and exp_avg_sq for every trainable parameter
    path = CheckpointManager(folder / "checkpoints").save(1, model, {"optimizer": optimizer.state_dict()})
    sizes = {p.name: p.stat().st_size for p in sorted(path.iterdir())}
    sizes["trainable parameters"] = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--presets", nargs="+", default=["ov2vss_tiny_synthetic", "frame_tiny_synthetic"])
    parser.add_argument("--no-size", action="store_true", help="skip the ov2vss_vitb16 checkpoint size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"| preset | processes x threads | global batch | it/s | clips/s |  ({os.cpu_count()} CPUs, {args.steps} steps)")
        print("|---|---|---|---|---|")
        for preset in args.presets:
            for processes, threads in ((1, 1), (1, 2), (2, 1)):
                rate, batch = steps_per_second(preset, args.steps, processes, threads, folder)
                print(f"| {preset} | {processes} x {threads} | {batch} | {rate:.2f} | {rate * batch:.1f} |", flush=True)
        if not args.no_size:
            sizes = checkpoint_sizes(folder)
            print("\n| ov2vss_vitb16 checkpoint file | size |\n|---|---|")
            for name, size in sizes.items():
                shown = f"{size:,}" if name == "trainable parameters" else f"{size / 2**20:.1f} MiB"
                print(f"| {name} | {shown} |")
            total = sum(v for k, v in sizes.items() if k != "trainable parameters")
            print(f"| whole checkpoint folder | {total / 2**20:.1f} MiB |")


if __name__ == "__main__":
    main()
