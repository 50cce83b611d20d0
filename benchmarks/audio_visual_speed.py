"""Speed of the audio-visual pieces on this machine; prints a table.

Usage: python benchmarks/audio_visual_speed.py [--repeats 3] [--size 360] [--no-model]

- audio in: decoding + resampling the two real clips with sound (../shared/data/videos), per second of sound;
- VGGish front end (log-mel) and the full-size VGGish (random weights, the released shape) per 0.975 s window;
- OV-AVSS (ov_avss_vitb16 on random ViT-B/16 CLIP and random full-size VGGish) per 5-frame clip at the given
  short side, beside one CLIP image forward of the same frames (the ratio is what to compare across machines).
Times are medians over `repeats` after one warm-up; the load average is printed with them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "videos"


def median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=360)
    parser.add_argument("--no-model", action="store_true", help="skip the OV-AVSS row (slow on a CPU)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    from openvidseg.data.audio import read_audio
    from openvidseg.models.audio import VGGishLogMel, load_audio_encoder

    rows = []
    for name in ("0BLiYNtFSjA.mp4", "0meOlo03O3g.mp4"):
        path = SHARED / name
        if path.is_file():
            seconds = median_seconds(lambda: read_audio(path), args.repeats)
            rows.append((f"decode + resample {name} (5 s of AAC 44.1 kHz stereo)", f"{1000 * seconds / 5:.1f} ms per second"))
    window = torch.randn(8, 15_600) * 0.1
    front = VGGishLogMel()
    rows.append(("VGGish log-mel, 8 windows", f"{1000 * median_seconds(lambda: front.patches(window), args.repeats) / 8:.2f} ms per window"))
    vggish = load_audio_encoder("random:vggish")
    with torch.no_grad():
        rows.append(("VGGish (full size, random), 8 windows",
                     f"{1000 * median_seconds(lambda: vggish(window), args.repeats) / 8:.1f} ms per window"))
    if not args.no_model:
        from openvidseg.models import create_model

        model = create_model("ov_avss_vitb16", clip="random:vit-b-16", audio_encoder="random:vggish").eval()
        side = args.size // 32 * 32
        frames = torch.randint(0, 256, (5, 3, side, side * 16 // 9 // 32 * 32), dtype=torch.uint8)
        audio = torch.randn(5, 15_600) * 0.1
        with torch.no_grad():
            clip_only = median_seconds(lambda: model.clip.forward_tokens(model.clip.preprocess(frames)), args.repeats)
            full = median_seconds(lambda: model.sounding_objects(frames, audio, ["a", "b", "c"], threshold=0.0),
                                  args.repeats)
        shape = f"{frames.shape[-2]}x{frames.shape[-1]}"
        rows.append((f"CLIP ViT-B/16 forward, 5 frames {shape}", f"{clip_only:.2f} s per clip"))
        rows.append((f"OV-AVSS ov_avss_vitb16, 5 frames {shape} + sound, 10 crops classified",
                     f"{full:.2f} s per clip ({full / clip_only:.2f}x the CLIP forward, {5 / full:.2f} frames/s)"))
    width = max(len(r[0]) for r in rows)
    print(f"load average: {open('/proc/loadavg').read().split()[:3] if os.path.exists('/proc/loadavg') else 'n/a'}; "
          f"threads: {torch.get_num_threads()}")
    print(f"| {'what':<{width}} | time |\n|{'-' * (width + 2)}|------|")
    for what, value in rows:
        print(f"| {what:<{width}} | {value} |")


if __name__ == "__main__":
    main()
