"""What the web app adds to a segmentation, and how fast its server answers while a job runs; prints a table.

Usage: python benchmarks/app_overhead.py [--model dense_clip_tiny] [--clip random:tiny] [--frames 120]
           [--threads 1] [--requests 20] [--repeats 3]

All in one process, one model built once, the same generated video (240 x 320, moving shapes):
- `write_outputs`: the files of `openvidseg segment` (masks, overlay, summary), frames/s;
- a `SegmentJob` read as the page reads it (a snapshot every second turned into the page's outputs:
  status, preview frame, table, chart), frames/s and its ratio to the row above;
- the whole round trip through the server with `gradio_client` (upload, queue, job, results copied to the
  cache, downloads), frames/s counted over the wall time;
- the time to answer GET / (the page) and GET /gradio_api/info, idle and while a job runs (median and
  worst of up to --requests requests, n of them made while the job ran).
Each throughput path runs --repeats times, interleaved, and the best run counts; beside frames/s (wall
time, disturbed by other processes on a busy machine) the CPU time of this whole process per frame (all
its threads: job, page refresh, server, client), which a busy machine disturbs much less.
Real-size model: --model dense_clip_vitb16 --clip random:vit-b-16 --frames 30 (random weights: speed only).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLASSES = "sky, grass, red circle, blue square, yellow star"


def process_cpu_s() -> float:
    """User + system CPU seconds of this process, all threads (robust to other processes' load)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_get(url: str, count: int, while_=lambda: True) -> tuple[float, float, int]:
    """Median and worst milliseconds to fetch `url` up to `count` times (while `while_()` holds), and how many."""
    times = []
    for _ in range(count):
        if not while_():
            break
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
        times.append(1000 * (time.perf_counter() - start))
        time.sleep(0.1)
    return statistics.median(times), max(times), len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dense_clip_tiny")
    parser.add_argument("--clip", default=None)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; the best counts (default: 3)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from gradio_client import Client, handle_file

    from openvidseg.app.examples import ExampleSpec, write_example
    from openvidseg.app.job import SegmentJob
    from openvidseg.app.models import ModelCache, build_choice
    from openvidseg.app.page import view
    from openvidseg.app.request import prepare_request
    from openvidseg.app.server import launch_app
    from openvidseg.app.settings import AppSettings, ModelChoice
    from openvidseg.data.video import open_frames
    from openvidseg.inference.outputs import write_outputs
    from openvidseg.inference.segment import Segmenter

    sys.path.insert(0, str(REPO / "tests"))
    from app_helpers import free_port

    choice = ModelChoice(args.model, args.model, None, args.clip)
    model = build_choice(choice)
    models = ModelCache(build=lambda _: model)
    settings = AppSettings(models=(choice,), device="cpu", max_seconds=None, examples=False)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        spec = ExampleSpec("benchmark", tuple(CLASSES.split(", ")), seed=4, frames=args.frames)
        video = write_example(spec, scratch).video
        segmenter = Segmenter(model, CLASSES.split(", "), device="cpu")
        server = launch_app(settings, "127.0.0.1", free_port(), block=False, parent=scratch, models=models,
                            quiet=True)
        client = Client(server.url, verbose=False, download_files=str(scratch / "downloads"))
        inputs = (handle_file(str(video)), CLASSES, args.model, False, 0.0, 0.5)

        def direct(run: int) -> float:
            with open_frames(video) as frames:
                return write_outputs(segmenter, frames, scratch / f"direct{run}")["frames_per_s"]

        def in_job(run: int) -> float:
            job = SegmentJob(prepare_request(settings, video, CLASSES), scratch / f"job{run}", models, device="cpu")
            for snapshot in job.updates(interval=1.0):
                view(snapshot)  # what the page does with each snapshot
            job.close()
            return snapshot.result.summary["frames_per_s"]

        def through_server(run: int) -> float:
            start = time.perf_counter()
            client.predict(*inputs, api_name="/segment")
            return args.frames / (time.perf_counter() - start)

        try:
            with open_frames(video) as frames:  # warm-up: first-call costs out of the measurement
                write_outputs(segmenter, frames, scratch / "warm", max_frames=3)
            paths = (("write_outputs (segment's files)", direct), ("SegmentJob + page refresh every 1 s", in_job),
                     ("through the server (gradio_client, wall time)", through_server))
            best = {name: 0.0 for name, _ in paths}
            cpu = {name: float("inf") for name, _ in paths}
            for run in range(args.repeats):  # interleaved, best of: the load of other processes only slows
                for name, measure in paths:
                    before = process_cpu_s()
                    best[name] = max(best[name], measure(run))
                    cpu[name] = min(cpu[name], 1000 * (process_cpu_s() - before) / args.frames)
            base, base_cpu = best[paths[0][0]], cpu[paths[0][0]]
            rows = [(name, f"{value:.2f}", f"{value / base:.2f}", f"{cpu[name]:.1f}", f"{cpu[name] / base_cpu:.2f}")
                    for name, value in best.items()]
            idle = {path: timed_get(server.url + path, args.requests) for path in ("", "gradio_api/info")}
            pending = client.submit(*inputs, api_name="/segment")
            time.sleep(2)  # the job is segmenting
            busy = {path: timed_get(server.url + path, args.requests, while_=lambda: not pending.done())
                    for path in ("", "gradio_api/info")}
            pending.result()
        finally:
            server.close()
    load = open("/proc/loadavg").read().split()[0]
    print(f"model {args.model} (CLIP {args.clip or 'its own'}), {args.frames} frames of 240x320, "
          f"{args.threads} torch thread(s), best of {args.repeats}; load average {load}\n")
    print("| path | frames/s | ratio | CPU ms / frame (whole process) | ratio |\n| --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    print("\n| request | idle: median / worst ms (n) | during a job: median / worst ms (n) |\n| --- | --- | --- |")
    for path in idle:
        print(f"| GET /{path} | {idle[path][0]:.0f} / {idle[path][1]:.0f} ({idle[path][2]}) | "
              f"{busy[path][0]:.0f} / {busy[path][1]:.0f} ({busy[path][2]}) |")


if __name__ == "__main__":
    main()
