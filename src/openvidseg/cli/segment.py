"""Segment videos with any class names: masks, an overlay video and a summary per input.

INPUT is a video file, a folder of frames, a folder of videos (each its own input), a glob of frames
(quote it: 'frames/*.png'), an http(s) or rtsp URL, - (a video piped into standard input) or a camera
(/dev/video0); several inputs make a batch, segmented with one model loaded once. Each input gets
OUT/<input name>/ with masks/<frame index, 5 digits>.png (palette PNGs: value = class index in classes.json, 255 = no class),
overlay.mp4 (the frames at their own size and fps with the classes blended in and a legend of the
classes present), classes.json (names in index order and colours) and summary.json (per class: share
of pixels, frames present, first and last appearance; frame count, fps, size; the resolved settings;
"complete": true or false), plus timeline.csv (each class's share of every frame). --format npz writes
masks/<frame>.npz (key labels) instead of PNGs, --format coco-rle a COCO-style annotations.json (one RLE
per class and frame); --save-scores adds scores/<frame>.npz (key probabilities, (K, H, W) float16). The
overlay carries the input's sound (--no-audio: without).

--task instance segments and tracks object instances instead (CLIP-VIS, OVFormer): OUT/<input name>/ gets
instances/<frame>.png (value = track id, 0 = none), overlay.mp4 (each track in its own colour with its id and
class at the object), tracks.json (YouTube-VIS results format, one RLE per frame) and summary.json (per track:
class, score, first/last frame, frames present; per class: track count). A track is shown once its video score
so far reaches --min-score. Instance models are trained: pass --checkpoint (default model clip_vis_vitb16).
--resume continues an instance output from its last saved tracking state (saved every few seconds).

The default model is the training-free dense_clip_vitb16 on CLIP openai/clip-vit-base-patch16 (offline,
pass a local copy with --clip PATH). --speed picks how much work it does per frame: balanced (default:
one CLIP pass per frame at short side 224), quality (448 with overlapping 224-pixel windows, 18 per
720p frame) or fast (as balanced on every 3rd frame, class maps carried along the motion in between).
Trainable models (ov2vss_*, frame_*) need --checkpoint with trained weights; without it they are refused
(--allow-untrained runs their random head, for benchmarks). --size is the short side frames are resized
to for the model (default: the profile's for the dense_clip models, 480 for the ov2vss/frame ViT-B/16
models). The model uses every core (--threads to change).

Ctrl-C or SIGTERM stops cleanly, and so does a full disk: what was written is kept and summary.json says
"complete": false with the frames done; even after SIGKILL the overlay plays up to about a second before
the end and the summary is never ahead of the saved masks. --resume
skips complete outputs and continues incomplete ones at their first missing mask (the overlay and the
summary are rebuilt from the saved masks; the result equals an uninterrupted run). An existing output
folder is never replaced without --overwrite.

Under torchrun (torchrun --nproc_per_node N -m openvidseg segment INPUTS...) the inputs are shared out over
the processes, one model each; every input is done once, and --resume works across launches of any size.

--task audio-visual segments only what makes the sound (OV-AVSS; the default model ov_avss_vitb16 needs the
VGGish weights, --audio-encoder PATH, or a trained --checkpoint): masks hold the sounding objects' classes,
the overlay marks them and keeps the video's sound. The sound is the input's own track (or --audio FILE); an
input without sound, or whose track is shorter than its frames, stops unless --audio-missing silence.

Examples: openvidseg segment clip.mp4 --classes "person, dog, ball" --out segmentations
          openvidseg segment clip.mp4 --task instance --classes "person, dog" --checkpoint clip_vis.safetensors
          openvidseg segment clip.mp4 --task audio-visual --classes "man, dog, guitar" --checkpoint ov_avss.safetensors
"""
from __future__ import annotations

import argparse
import sys

from openvidseg.tasks import DEFAULT_MODELS, SEGMENT_TASKS, TASK_OPTIONS

PRECISION_CHOICES = ("fp32", "bf16", "fp16")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="video file, folder of frames or of videos, quoted "
                        "glob of frames, http(s)/rtsp URL, - (a video on standard input) or a camera (/dev/video0)")
    parser.add_argument("--task", default="semantic", choices=SEGMENT_TASKS,
                        help="semantic: a class per pixel; instance: object tracks with ids; audio-visual: what makes "
                        "the sound (default: semantic)")
    vocabulary = parser.add_argument_group("classes")
    vocabulary.add_argument("--classes", metavar="NAMES", help='class names separated by commas, e.g. "person, dog, ball"')
    vocabulary.add_argument("--classes-file", metavar="FILE",
                            help="a text file with one class per line ('#' comments and blank lines ignored)")
    vocabulary.add_argument("--background", action="store_true",
                            help='add a "background" class for everything else (never added unless asked)')
    model = parser.add_argument_group("model")
    model.add_argument("--model", metavar="NAME", help="registered model (default: dense_clip_vitb16, or the "
                       "checkpoint's model; `openvidseg info` lists them)")
    model.add_argument("--checkpoint", metavar="PATH_OR_ID", help="trained weights: model.safetensors (with model.json "
                       "beside it), a training run's folder, or a Hugging Face hub id (user/name)")
    model.add_argument("--allow-untrained", action="store_true", help="run a trainable model (ov2vss_*, frame_*, "
                       "clip_vis_*, ovformer_*) "
                       "without --checkpoint, with its random head (benchmarks, tests; its masks mean nothing)")
    model.add_argument("--clip", metavar="ID_OR_PATH", help="CLIP weights: hub id, local folder, OpenAI .pt file, "
                       "or random:<size> (default: the model's, e.g. openai/clip-vit-base-patch16)")
    model.add_argument("--speed", default="balanced", choices=("fast", "balanced", "quality"),
                       help="balanced: one CLIP pass per frame at short side 224; quality: 448 with overlapping "
                       "windows (about 10x slower); fast: as balanced on every 3rd frame, class maps carried along "
                       "the motion in between (default: balanced; docs/segment.md)")
    model.add_argument("--size", type=int, metavar="N", help="short side (pixels) frames are resized to for the model "
                       "(default: the model's or the profile's, e.g. 224 for dense_clip_vitb16 at --speed balanced)")
    model.add_argument("--keyframe-interval", type=int, metavar="N",
                       help="run the model on every Nth frame (and at scene changes) and carry class maps along the "
                       "motion in between; per-frame models only (default: 3 at --speed fast, else 1)")
    model.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    model.add_argument("--precision", default="fp32", choices=PRECISION_CHOICES,
                       help="fp32 | bf16 | fp16 (fp16: GPUs without bf16; default: fp32)")
    model.add_argument("--batch-size", type=int, default=1, metavar="N",
                       help="frames per model call, for per-frame models (GPUs; default: 1)")
    model.add_argument("--compile", action="store_true",
                       help="torch.compile the CLIP image encoder (minutes to compile; for GPUs, it did not pay on a CPU)")
    model.add_argument("--threads", type=int, metavar="N",
                       help="CPU threads for the model (default: every core, or OMP_NUM_THREADS when set)")
    sound = parser.add_argument_group("sound (--task audio-visual)")
    sound.add_argument("--audio", metavar="FILE", help="the input's sound from another file (.wav, or any file with "
                       "sound); default: the input's own track")
    sound.add_argument("--audio-missing", default="error", choices=("error", "silence"),
                       help="an input without sound or with a shorter track: stop (default) or hear silence")
    sound.add_argument("--audio-encoder", metavar="SOURCE", help="VGGish weights file, AST folder or hub id, or "
                       "random:<kind> (default: the model's)")
    model.add_argument("--memory-interval", type=int, default=30, metavar="N",
                       help="frames between refreshes of the long-range memory frame (OV2VSS; default: 30)")
    model.add_argument("--min-confidence", type=float, default=0.0, metavar="P",
                       help="pixels whose best class has a probability below P get no class (255) (default: 0, off)")
    model.add_argument("--min-score", type=float, metavar="S", help="instance: the video score (0-1) a track needs "
                       "to be shown (default: 0.5)")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--out", default="segmentations", metavar="DIR", help="output folder (default: ./segmentations)")
    outputs.add_argument("--format", default="png", choices=("png", "npz", "coco-rle"),
                         help="masks as palette PNGs (default), .npz class maps, or COCO RLEs gathered into "
                         "annotations.json")
    outputs.add_argument("--save-scores", action="store_true",
                         help="also save each frame's class probabilities: scores/<frame>.npz, (K, H, W) float16")
    outputs.add_argument("--no-video", action="store_true", help="do not write overlay.mp4")
    outputs.add_argument("--no-audio", action="store_true", help="do not copy the input's sound into overlay.mp4")
    outputs.add_argument("--no-masks", action="store_true", help="do not write the mask PNGs (then --resume restarts)")
    outputs.add_argument("--alpha", type=float, default=0.5, help="opacity of the class colours in the overlay (default: 0.5)")
    outputs.add_argument("--max-frames", type=int, metavar="N", help="segment only the first N frames of each input")
    outputs.add_argument("--fps", type=float, metavar="F", help="frame rate of frame folders and globs (default: 25)")
    outputs.add_argument("--font", metavar="PATH", help="a font file (.ttf/.otf/.ttc) for the legend's class names, "
                         "tried before Noto Sans and the system's fonts (e.g. for Chinese, Japanese, Korean names)")
    existing = outputs.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true", help="skip complete outputs, continue incomplete ones")
    existing.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or log lines, only results and errors")


def _log(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def _check_inputs(inputs: list[str], fps: float | None) -> None:
    """Open (and close) every input before the model loads, so a missing or broken input stops the run at once
    (standard input, which can be read only once, is checked when it is read)."""
    from openvidseg.data.video import STDIN, open_frames
    from openvidseg.errors import InputError

    if inputs.count(STDIN) > 1:
        raise InputError("'-' (standard input) is given more than once: there is one standard input")
    for source in inputs:
        if source != STDIN:
            with open_frames(source, fps=fps):
                pass


def _check_fonts(classes, font: str | None) -> None:
    """Check --font, and warn (one line per name) about names no available font can draw."""
    from openvidseg.viz.fonts import uncovered_names

    for name, letters in uncovered_names(classes, font):
        codes = ", ".join(f"U+{ord(c):04X}" for c in letters[:5])
        print(f"openvidseg segment: warning: no font here draws {letters[:5]!r} ({codes}) of class {name!r}: the "
              "legend shows boxes for them; pass --font PATH with a font that has them (e.g. Noto Sans CJK)",
              file=sys.stderr)


def _check_share(inputs: list[str], folders: list, args: argparse.Namespace) -> int:
    """Check this process's inputs and output folders before any model loads; under torchrun every process
    learns whether any process's check failed (returns that exit code, 0 when all passed)."""
    from openvidseg.engine.distributed import agree_exit_code, world_size
    from openvidseg.errors import OpenVidSegError

    code = 0
    try:
        _check_inputs(inputs, args.fps)
        for folder in folders:
            folder.check_can_write(overwrite=args.overwrite, resume=args.resume)
    except OpenVidSegError as err:
        if world_size() == 1:
            raise
        print(f"openvidseg segment: error: {err}", file=sys.stderr)
        code = err.exit_code
    return agree_exit_code(code)


LAUNCH_TIMEOUT_DAYS = 7  # under torchrun, how long a process that is done waits for the others


def run(args: argparse.Namespace) -> int:
    import os

    # Threads that wait for work sleep instead of spinning: with every core in use, a spinning OpenMP
    # thread steals the core another thread (or process) needs. Measured on the shared 2-core VM (load ~19):
    # a ViT-B/16 pass took 14.7 s with 2 spinning threads, 5.2 s with 2 sleeping ones, 5.5 s with 1 thread.
    # Only takes effect before torch is first imported (as in the command line).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from datetime import timedelta

    from openvidseg.tasks import check_task_options

    check_task_options(args.task, {name: getattr(args, name) for name in TASK_OPTIONS})
    if args.task == "audio-visual":
        from openvidseg.cli.segment_audio_visual import run_audio_visual
        from openvidseg.errors import InputError

        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # each process would do every input
            raise InputError("--task audio-visual does not share inputs over the processes of a torchrun launch: "
                             "run it without torchrun")
        return run_audio_visual(args)

    from openvidseg.engine.distributed import agree_exit_code, init_distributed, shutdown_distributed
    from openvidseg.errors import OpenVidSegError
    from openvidseg.runtime import resolve_device, set_threads
    from openvidseg.vocabulary import build_vocabulary

    classes = build_vocabulary(args.classes, args.classes_file, args.background)
    set_threads(args.threads)
    _check_fonts(classes, args.font)
    device = resolve_device(args.device)
    if not init_distributed(device, backend="gloo", timeout=timedelta(days=LAUNCH_TIMEOUT_DAYS)):
        return _segment(args, classes, device)
    try:  # one process of a torchrun launch: its share of the inputs, and the launch's exit code when all are done
        try:
            code = _segment(args, classes, device)
        except OpenVidSegError as err:
            print(f"openvidseg segment: error: {err}", file=sys.stderr)
            code = err.exit_code
        return agree_exit_code(code)
    finally:
        shutdown_distributed()


def _segment(args: argparse.Namespace, classes: list[str], device) -> int:
    """Segment this process's share of the inputs (all of them when launched alone)."""
    from pathlib import Path

    from openvidseg.data.frame_source import IMAGE_SUFFIXES
    from openvidseg.data.video import STDIN, expand_inputs, open_frames
    from openvidseg.engine.distributed import is_main_process, local_device, rank, shard, world_size
    from openvidseg.errors import InputError, OpenVidSegError
    from openvidseg.inference.output_folder import OutputFolder, input_name, unique_folder_names
    from openvidseg.inference.outputs import write_task_outputs
    from openvidseg.inference.segment import load_segmenter

    inputs = expand_inputs(args.inputs)  # a folder of videos stands for its videos
    if world_size() > 1 and STDIN in inputs:
        raise InputError("'-' (standard input) cannot be shared by the processes of a torchrun launch: pass files")
    names = unique_folder_names([input_name(s) for s in inputs])  # over all inputs: the same in every process
    mine = shard(list(zip(inputs, names)))
    main = is_main_process()
    out = Path(args.out).expanduser()
    folders = [OutputFolder(out / name) for _, name in mine]
    stop = _check_share([source for source, _ in mine], folders, args)
    if stop:  # an input or output of some process is refused: no process starts
        return stop
    images = [s for s in inputs if Path(s).is_file() and Path(s).suffix.lower() in IMAGE_SUFFIXES]
    if len(images) > 1 and main:
        _log(args, f"note: {len(images)} single images given, each segmented as a one-frame video; quote a glob "
                   "('frames/*.png') or pass the folder to segment them as one video")
    if world_size() > 1:
        _log(args, f"process {rank()} of {world_size()}: {len(mine)} of the {len(inputs)} inputs")
    if not mine:
        return 0

    what = args.model or ("the checkpoint's model" if args.checkpoint else DEFAULT_MODELS[args.task])
    if main:
        _log(args, f"loading {what}{f' (CLIP {args.clip})' if args.clip else ''} ...")
    segmenter = load_segmenter(classes, model=args.model, checkpoint=args.checkpoint, clip=args.clip,
                               device=local_device(device), precision=args.precision, size=args.size,
                               memory_interval=args.memory_interval, min_confidence=args.min_confidence,
                               speed=args.speed, keyframe_interval=args.keyframe_interval,
                               batch_size=args.batch_size, compile=args.compile, allow_untrained=args.allow_untrained,
                               task=args.task, min_score=args.min_score)
    settings = segmenter.settings()
    speed = f"speed {settings['speed']}, " if "speed" in settings else ""
    if main:
        _log(args, f"model {settings['model']} (CLIP {settings['clip']}) on {settings['device']}, "
                   f"{settings['precision']}, {speed}short side {settings['size']}; "
                   f"{len(classes)} classes: {', '.join(classes)}")
    show_progress = not args.quiet and sys.stderr.isatty() and main
    failures: list[OpenVidSegError] = []
    for (source, _), folder in zip(mine, folders):
        try:
            with open_frames(source, fps=args.fps) as frames:
                summary = write_task_outputs(segmenter, frames, folder.path, masks=not args.no_masks,
                                             video=not args.no_video, alpha=args.alpha, max_frames=args.max_frames,
                                             resume=args.resume, overwrite=args.overwrite,
                                             show_progress=show_progress, input_label=source, font=args.font,
                                             mask_format=args.format, save_scores=args.save_scores,
                                             audio=not args.no_audio)
        except OpenVidSegError as err:
            print(f"openvidseg segment: error: {err}", file=sys.stderr)
            failures.append(err)
            continue
        except KeyboardInterrupt:
            print(f"openvidseg segment: stopped; {folder.path} is incomplete (run again with --resume to continue)",
                  file=sys.stderr)
            raise
        print(_result_line(folder.path, summary), flush=True)
    return max(err.exit_code for err in failures) if failures else 0


def _result_line(path, summary: dict) -> str:
    """'segmentations/clip: 200 frames, complete; present: person 41.2%, dog 3.0%' (instance: 'tracks: 3: 2
    person, 1 dog')."""
    if summary.get("skipped"):
        return f"{path}: already complete, skipped"
    speed = f", {summary['frames_per_s']:.1f} frames/s" if summary.get("frames_per_s") else ""
    frames = f"{summary['frames']} frame{'' if summary['frames'] == 1 else 's'}"
    head = f"{path}: {frames}, {'complete' if summary['complete'] else 'incomplete'}{speed}; "
    if summary.get("task") == "instance":
        counts = sorted((c for c in summary["classes"] if c["tracks"]), key=lambda c: -c["tracks"])
        named = ", ".join(f"{c['tracks']} {c['name']}" for c in counts[:8])
        more = f" (+{len(counts) - 8} more classes)" if len(counts) > 8 else ""
        return head + f"tracks: {len(summary['tracks'])}" + (f": {named}{more}" if named else "")
    present = sorted((c for c in summary["classes"] if c["frames"]), key=lambda c: -c["pixel_share"])
    shares = ", ".join(f"{c['name']} {100 * c['pixel_share']:.1f}%" for c in present[:8])
    more = f" (+{len(present) - 8} more)" if len(present) > 8 else ""
    return head + f"present: {shares or 'nothing'}{more}"
