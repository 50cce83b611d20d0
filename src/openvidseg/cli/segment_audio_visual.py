"""`openvidseg segment --task audio-visual`: segment and name what makes the sound, input by input (the
segment command's audio-visual path; its options are the segment command's)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openvidseg.tasks import DEFAULT_MODELS

DEFAULT_MODEL = DEFAULT_MODELS["audio-visual"]


def load_audio_visual_model(model: str | None, checkpoint: str | None, clip: str | None, audio_encoder: str | None,
                            allow_untrained: bool = False):
    """The checkpoint's model (with `clip` / `audio_encoder` replacing its sources when given) or the registered
    audio-visual model `model`; InputError for a model of another task, or one without trained weights unless
    `allow_untrained`."""
    from openvidseg.errors import InputError
    from openvidseg.models import create_model, get_variant, load_model
    from openvidseg.models.checkpoint import has_untrained_head

    overrides = {k: v for k, v in {"clip": clip, "audio_encoder": audio_encoder}.items() if v is not None}
    built = load_model(checkpoint, **overrides) if checkpoint else create_model(model or DEFAULT_MODEL, **overrides)
    task = get_variant(built.variant_name).task
    if task != "audio-visual":
        raise InputError(f"model '{built.variant_name}' does {task} segmentation, not audio-visual: pick an ov_avss_* "
                         "model (`openvidseg info` lists each model's task)")
    if not allow_untrained and has_untrained_head(built):
        raise InputError(f"model '{built.variant_name}' has no trained weights, so its masks would be random: pass a "
                         "trained --checkpoint (openvidseg train --config ov_avss_vitb16_avsbench ...), or "
                         "--allow-untrained to run it anyway (benchmarks, tests)")
    return built


def check_audio_arguments(args: argparse.Namespace) -> None:
    """What the audio-visual path cannot do (the other tasks' options are refused by `openvidseg.tasks`), or an
    --audio file for several inputs."""
    from openvidseg.errors import InputError

    if args.resume:
        raise InputError("--resume is not available with --task audio-visual: run again with --overwrite")
    if args.precision != "fp32":
        raise InputError(f"--precision {args.precision} is not available with --task audio-visual: OV-AVSS runs in fp32 "
                         "(drop the option)")
    if args.no_audio:
        raise InputError("--no-audio is not available with --task audio-visual: its overlay keeps the sound it "
                         "segmented (--no-video writes no overlay)")
    if "-" in args.inputs:
        raise InputError("'-' (standard input) is not available with --task audio-visual: the frames and the sound "
                         "are read separately, so pass a file")
    if args.audio and len(args.inputs) > 1:
        raise InputError(f"--audio gives the sound of one input, but {len(args.inputs)} inputs are given: segment "
                         "them one at a time")


def run_audio_visual(args: argparse.Namespace) -> int:
    from openvidseg.data.audio import open_frame_audio
    from openvidseg.data.video import open_frames
    from openvidseg.errors import OpenVidSegError
    from openvidseg.inference.audio_visual import AudioVisualPredictor
    from openvidseg.inference.audio_visual_outputs import write_audio_visual_outputs
    from openvidseg.inference.output_folder import OutputFolder, input_name, unique_folder_names
    from openvidseg.inference.segment import default_size
    from openvidseg.runtime import resolve_device, set_threads
    from openvidseg.clip.templates import load_templates
    from openvidseg.vocabulary import build_vocabulary, check_prompt_lengths

    check_audio_arguments(args)
    set_threads(args.threads)
    classes = build_vocabulary(args.classes, args.classes_file, False)
    for source in args.inputs:  # a missing input or a missing sound stops the run before the model loads
        with open_frames(source, fps=args.fps):
            pass
        open_frame_audio(source, args.audio, fps=args.fps, missing=args.audio_missing)
    out = Path(args.out).expanduser()
    folders = [OutputFolder(out / name) for name in unique_folder_names([input_name(s) for s in args.inputs])]
    for folder in folders:
        folder.check_can_write(overwrite=args.overwrite, resume=False)
    model = load_audio_visual_model(args.model, args.checkpoint, args.clip, args.audio_encoder, args.allow_untrained)
    check_prompt_lengths(classes, load_templates(model.templates), model.clip.tokenizer,
                         model.clip.model.config.text_config.max_position_embeddings)
    device = resolve_device(args.device)
    model = model.to(device)
    size = args.size if args.size is not None else default_size(model)  # ov_avss_vitb16: 360, as the peer tests
    predictor = AudioVisualPredictor(model, classes, short_side=size, device=device)
    settings = {"task": "audio-visual", "model": model.variant_name, "checkpoint": args.checkpoint,
                "clip": model.clip.name, "audio_encoder": model.audio.encoder.name, "device": str(device),
                "size": size, "classes": list(classes), "top_k": model.top_k, "threshold": model.threshold,
                "audio_missing": args.audio_missing}
    if not args.quiet:
        print(f"model {settings['model']} (CLIP {settings['clip']}, audio {settings['audio_encoder']}) on {device}; "
              f"{len(classes)} classes: {', '.join(classes)}", file=sys.stderr)
    failures: list[OpenVidSegError] = []
    for source, folder in zip(args.inputs, folders):
        try:
            audio = open_frame_audio(source, args.audio, fps=args.fps, missing=args.audio_missing)
            with open_frames(source, fps=args.fps) as frames:
                summary = write_audio_visual_outputs(predictor, frames, audio, folder.path, settings=settings,
                                                     masks=not args.no_masks, video=not args.no_video, alpha=args.alpha,
                                                     max_frames=args.max_frames, overwrite=args.overwrite,
                                                     input_label=source)
        except OpenVidSegError as err:
            print(f"openvidseg segment: error: {err}", file=sys.stderr)
            failures.append(err)
            continue
        sounding = sorted((c for c in summary["classes"] if c["frames"]), key=lambda c: -c["pixel_share"])
        heard = ", ".join(f"{c['name']} in {c['frames']} frames" for c in sounding[:8]) or "nothing"
        print(f"{folder.path}: {summary['frames']} frames, {'complete' if summary['complete'] else 'incomplete'}; "
              f"sounding: {heard}")
    return failures[0].exit_code if failures else 0
