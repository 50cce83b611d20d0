"""Speed and memory of `openvidseg segment` (masks + overlay + summary written); prints a table.

Usage: python benchmarks/segment_speed.py [--clip /tmp/clip-b16] [--video ../shared/data/videos/bedroom.mp4]
           [--threads 1] [--long-frames 2000] [--quick]

Rows (each a fresh process running `python -m openvidseg segment ...`, CLIP ViT-B/16 with random weights
from --clip, e.g. a folder made by ../shared/tools/make_random_clip.py, or random:vit-b-16):
- the real video with dense_clip_vitb16 at its default short side (448), on its first --head-frames frames;
- the real video with dense_clip_vitb16 at --size 224 (one row of three 224-pixel windows), every frame;
- the real video with ov2vss_vitb16 (random head: speed only) at its default 480, first --head-frames frames;
- a generated --long-frames video (224x224, moving shapes) with dense_clip_vitb16 at --size 224 (a single
  CLIP window per frame, the least work this model can do), to show that memory stays flat.
frames/s is measured inside the segmentation loop (decoding, model, mask PNGs, overlay encoding); the
peak resident memory (ru_maxrss) is taken after the first frame, after frame 100 and at the end; the last
column is the resident memory once the command has returned (model and buffers released).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CLASSES = "bed, wall, floor, ceiling, window, curtain, lamp, table, chair, person"
PROBE = r"""
import json, resource, sys, time
start = time.perf_counter()
import torch
torch.set_num_threads(int(sys.argv[1]))
from openvidseg.cli import main
from openvidseg.inference.predictor import VideoPredictor

def memory():
    current = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:"))
    return {"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "current": current / 1024}

marks, step = {}, VideoPredictor.step
def probed(self, frame):
    out = step(self, frame)
    if self.index in (1, 100):
        marks[str(self.index)] = memory()
    return out
VideoPredictor.step = probed
code = main(sys.argv[2:])
marks["end"] = memory()
print(json.dumps({"code": code, "total": time.perf_counter() - start, "marks": marks}))
"""


def generated_video(path: Path, frames: int, size: int = 224) -> Path:
    """A `frames`-long H.264 video of shapes moving over a gradient (written frame by frame)."""
    import av

    ramp = np.linspace(40, 215, size, dtype=np.float32)
    background = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size))], -1)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for t in range(frames):
            frame = background.astype(np.uint8)
            x, y = (7 * t) % (size - 48), (3 * t) % (size - 48)
            frame[y : y + 48, x : x + 48] = (230, 40, 40)
            frame[size - 60 :, (5 * t) % (size - 30) :][:, :30] = (40, 200, 60)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def measure(video: Path, out: Path, threads: int, extra: list[str]) -> dict:
    args = ["segment", str(video), "--classes", CLASSES, "--out", str(out), "--overwrite", "--quiet", *extra]
    done = subprocess.run([sys.executable, "-c", PROBE, str(threads), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["summary"] = json.loads((out / video.stem / "summary.json").read_text())
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="/tmp/clip-b16", help="CLIP ViT-B/16 source (default: /tmp/clip-b16)")
    ap.add_argument("--video", default=str(REPO.parent / "shared" / "data" / "videos" / "bedroom.mp4"))
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default: 1; on a shared 2-core VM a second one made ViT-B/16 slower)")
    ap.add_argument("--head-frames", type=int, default=20, help="frames of the real video at default sizes (default: 20)")
    ap.add_argument("--long-frames", type=int, default=2000, help="length of the generated video (default: 2000)")
    ap.add_argument("--quick", action="store_true", help="tiny models and 120 generated frames (a check of the script)")
    args = ap.parse_args()
    if args.quick:
        clip, dense, ov2vss, long_frames = ["--clip", "random:tiny"], "dense_clip_tiny", "ov2vss_tiny", 120
    else:
        clip, dense, ov2vss, long_frames = ["--clip", args.clip], "dense_clip_vitb16", "ov2vss_vitb16", args.long_frames
    video = Path(args.video)
    print(f"openvidseg segment, CPU, {args.threads} torch threads, CLIP {clip[1]} (random weights), {len(CLASSES.split(','))} "
          "classes; masks + overlay.mp4 + summary written\n")
    print("| input | frames | frame size | model | --size | frames/s | peak RSS after frame 1 MiB | "
          "after frame 100 MiB | at the end MiB | RSS once the command returned MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        if video.is_file():
            rows += [(video, dense, None, ["--max-frames", str(args.head_frames)]),
                     (video, dense, 224, []),
                     (video, ov2vss, None, ["--max-frames", str(args.head_frames), "--allow-untrained"])]
        else:
            print(f"({video} not found: real-video rows skipped)\n")
        rows.append((generated_video(Path(tmp) / f"generated_{long_frames}.mp4", long_frames), dense, 224, []))
        for source, model, size, extra in rows:
            options = ["--model", model, *clip, *(["--size", str(size)] if size else []), *extra]
            result = measure(source, Path(tmp) / "out", args.threads, options)
            summary, marks = result["summary"], result["marks"]
            peak = lambda key: f"{marks[key]['peak']:.0f}" if key in marks else "-"  # noqa: E731
            print(f"| {source.name} | {summary['frames']} | {summary['width']}x{summary['height']} | {model} | "
                  f"{summary['settings']['size']} | {summary['frames_per_s']:.2f} | {peak('1')} | {peak('100')} | "
                  f"{peak('end')} | {marks['end']['current']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
