"""Speed and memory of `openvidseg segment` per speed profile (masks + overlay + summary written); one table.

Usage: python benchmarks/segment_speed.py [--frames 300] [--size 1280x720] [--classes 5] [--quality-frames 20]
           [--levers] [--clip random:vit-b-16] [--device cpu] [--precision fp32] [--threads N] [--quick]

In one run: a generated video (moving textured shapes over a panning background, --frames frames at
--size, 30 fps) is segmented by the default model (dense_clip_vitb16, CLIP with random weights from
--clip: speed only, the predictions mean nothing) once per profile, each in a fresh process running
`python -m openvidseg segment ...`; the quality profile on its first --quality-frames frames (it runs
about 20 CLIP windows per 720p frame). Around the profiles, one CLIP ViT-B/16 image forward at 224 x 224
(batch 1) is timed in this process, and each profile's time per frame is given as a multiple of it:
ratios carry across machines, absolute times do not (and on a shared machine not even across runs).
--levers adds balanced-profile rows with one lever changed: 1 torch thread, no background decoding and
writing, 4 frames per model call.

Columns: frames/s inside the segmentation loop (decoding, model, mask PNGs, overlay encoding, statistics);
per-frame time over the CLIP forward; CPU seconds per frame of the segmentation (all threads: the work
done, which other processes on a busy machine do not inflate the way they inflate wall time; 1 / it is a
lower bound of frames/s on an idle machine with one core, two cores do at most twice that) and its ratio
to the CLIP forward's CPU time; the whole command's wall time (model loading included); peak resident
memory of the command (ru_maxrss); CLIP forwards per frame.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `segment` sets it, for the CLIP forward timed here
CLASS_NAMES = ["person", "dog", "car", "tree", "sky", "road", "building", "grass", "water", "bicycle"]
PROBE = r"""
import json, resource, sys, time
start = time.perf_counter()
options = json.loads(sys.argv[1])
import openvidseg.inference.outputs as outputs
if not options.get("background_io", True):
    outputs.write_outputs.__kwdefaults__["background_io"] = False
cpu = []
write_outputs = outputs.write_outputs
def measured(*args, **kwargs):  # CPU time of the segmentation itself (all threads), model loading excluded
    begin = time.process_time()
    try:
        return write_outputs(*args, **kwargs)
    finally:
        cpu.append(time.process_time() - begin)
outputs.write_outputs = measured
from openvidseg.cli import main
code = main(sys.argv[2:])
print(json.dumps({"code": code, "total": time.perf_counter() - start, "cpu": sum(cpu),
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generated_video(path: Path, frames: int, width: int, height: int, fps: int = 30) -> Path:
    """Textured background panning 2 px/frame with three shapes moving across it, H.264, written frame by frame."""
    import av

    ys, xs = np.mgrid[0:height, 0 : width + 2 * frames].astype(np.float32)
    texture = np.stack([90 + 60 * np.sin(xs / 23) * np.cos(ys / 31), 110 + 50 * np.cos(xs / 17 + ys / 29),
                        100 + 40 * np.sin((xs + ys) / 41)], -1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        side = height // 4
        for t in range(frames):
            frame = texture[:, 2 * t : 2 * t + width].astype(np.uint8)
            for k, (color, speed) in enumerate([((220, 50, 50), 7), ((50, 200, 70), 4), ((240, 220, 60), 11)]):
                left, top = (speed * t + 300 * k) % (width - side), (height // 5) * (k + 1) % (height - side)
                frame[top : top + side, left : left + side] = color
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def clip_forward_ms(clip: str, device: str, precision: str, repeats: int = 7) -> tuple[float, float]:
    """Median (wall, CPU) milliseconds of one CLIP image forward at its native size (224 x 224, batch 1)."""
    import torch

    from openvidseg.clip import load_clip
    from openvidseg.runtime import resolve_device, resolve_dtype

    target = resolve_device(device)
    model = load_clip(clip, device=target)
    pixels = torch.randn(1, 3, model.image_size, model.image_size, device=target)
    dtype = resolve_dtype(precision)
    autocast = torch.autocast(target.type, dtype=dtype, enabled=dtype != torch.float32)
    times, cpus = [], []
    with torch.inference_mode(), autocast:
        for i in range(repeats + 1):
            if target.type == "cuda":
                torch.cuda.synchronize()
            begin, cpu = time.perf_counter(), time.process_time()
            model.dense_features(pixels)
            if target.type == "cuda":
                torch.cuda.synchronize()
            if i:  # the first call warms up
                times.append(time.perf_counter() - begin)
                cpus.append(time.process_time() - cpu)
    return 1000 * sorted(times)[len(times) // 2], 1000 * sorted(cpus)[len(cpus) // 2]


def run_segment(video: Path, out: Path, args: list[str], threads: int | None, options: dict) -> dict:
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    command = ["segment", str(video), "--out", str(out), "--overwrite", "--quiet", *args]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(options), *command], capture_output=True,
                          text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["summary"] = json.loads((out / video.stem / "summary.json").read_text())
    return result


def forwards_per_frame(speed: str, size: tuple[int, int], summary: dict) -> str:
    """CLIP forwards per frame: the profile's windows (counted on a tiny CLIP of the same patch and input size)."""
    from openvidseg.inference.segment import build_segment_model

    settings = summary["settings"]
    model = build_segment_model(settings["model"], clip="random:tiny", speed=speed, size=settings["size"])
    windows = model.num_windows(size[1], size[0]) if hasattr(model, "num_windows") else 1
    interval = settings.get("keyframe_interval", 1)
    return f"{windows}" if interval == 1 else f"{windows} on keyframes (1 in <= {interval})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="length of the generated video (default: 300)")
    ap.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the generated video (default: 1280x720)")
    ap.add_argument("--classes", type=int, default=5, help="number of class names, K (default: 5)")
    ap.add_argument("--profiles", default="fast,balanced,quality", help="comma-separated (default: all three)")
    ap.add_argument("--quality-frames", type=int, default=20,
                    help="frames segmented with the quality profile (default: 20; 0 = all)")
    ap.add_argument("--levers", action="store_true", help="add balanced rows with one lever changed")
    ap.add_argument("--clip", default="random:vit-b-16", help="CLIP source (default: random:vit-b-16)")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | ... (default: cpu)")
    ap.add_argument("--precision", default="fp32", help="fp32 | bf16 | fp16 (default: fp32)")
    ap.add_argument("--threads", type=int, help="torch threads in segment (default: segment's, every core)")
    ap.add_argument("--quick", action="store_true", help="tiny model, 24 frames at 320x180 (a check of the script)")
    args = ap.parse_args()
    width, height = map(int, args.size.lower().split("x"))
    model, clip, frames = "dense_clip_vitb16", args.clip, args.frames
    if args.quick:
        model, clip, frames, width, height = "dense_clip_tiny", "random:tiny", 24, 320, 180
    classes = ", ".join(CLASS_NAMES[: args.classes])
    common = ["--classes", classes, "--model", model, "--clip", clip, "--device", args.device,
              "--precision", args.precision]
    rows = [(p, [], {}, p) for p in args.profiles.split(",")]
    if args.levers:
        rows += [("balanced", ["--threads", "1"], {}, "balanced, 1 torch thread"),
                 ("balanced", [], {"background_io": False}, "balanced, no background I/O"),
                 ("balanced", ["--batch-size", "4"], {}, "balanced, 4 frames per model call")]
    print(f"openvidseg segment, {args.device}, {args.precision}, {model} (CLIP {clip}, random weights), K = {args.classes}, "
          f"generated {frames} frames at {width}x{height}; masks + overlay.mp4 + summary written")
    with tempfile.TemporaryDirectory() as tmp:
        video = generated_video(Path(tmp) / f"generated_{width}x{height}.mp4", frames, width, height)
        before, before_cpu = clip_forward_ms(clip, args.device, args.precision)
        print(f"load average before: {open('/proc/loadavg').read().split()[:3]}; CLIP forward at 224: {before:.0f} ms "
              f"({before_cpu:.0f} ms CPU)\n")
        print("| profile | frames | CLIP forwards per frame | frames/s | ms per frame | / CLIP forward | "
              "CPU s per frame | / CLIP forward (CPU) | command wall s | peak RSS MiB |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        results = []
        for speed, extra, options, label in rows:
            limit = ["--max-frames", str(args.quality_frames)] if speed == "quality" and args.quality_frames else []
            threads = None if "--threads" in extra else args.threads
            result = run_segment(video, Path(tmp) / "out", [*common, "--speed", speed, *limit, *extra], threads, options)
            results.append((speed, label, result))
            summary = result["summary"]
            per_frame = 1000 / summary["frames_per_s"]
            cpu_per_frame = result["cpu"] / max(1, summary["frames"])
            print(f"| {label} | {summary['frames']} | {forwards_per_frame(speed, (width, height), summary)} | "
                  f"{summary['frames_per_s']:.2f} | {per_frame:.0f} | {per_frame / before:.2f}x | {cpu_per_frame:.2f} | "
                  f"{1000 * cpu_per_frame / before_cpu:.2f}x | {result['total']:.0f} | {result['peak']:.0f} |", flush=True)
        after, _ = clip_forward_ms(clip, args.device, args.precision)
        print(f"\nload average after: {open('/proc/loadavg').read().split()[:3]}; CLIP forward at 224: {after:.0f} ms "
              f"(ratios above use the one before; with the mean {0.5 * (before + after):.0f} ms: "
              + ", ".join(f"{label} {1000 / r['summary']['frames_per_s'] / (0.5 * (before + after)):.2f}x"
                          for _, label, r in results) + ")")


if __name__ == "__main__":
    main()
