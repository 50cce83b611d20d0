"""Serve the web app: upload a video, type class names, watch the segmentation; download the results.

Needs the optional extra: pip install 'openvidseg[app]'. Binds to 127.0.0.1 (this machine only) unless
--host says otherwise (--host 0.0.0.0 serves every network interface). The page offers the models given
with --model (repeat it for several; the first is selected) and --checkpoint; without either it offers
dense_clip_vitb16 (CLIP openai/clip-vit-base-patch16; offline, pass a local copy with --clip PATH).
Uploads and results live in one temporary folder that is deleted when the server stops.

Example: openvidseg app --model dense_clip_vitb16 --port 7860
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from openvidseg.app.settings import DEFAULT_HOST, DEFAULT_PORT, AppSettings

    defaults = AppSettings()
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    model = parser.add_argument_group("models offered in the page")
    model.add_argument("--model", action="append", default=[], metavar="NAME",
                       help="registered model; repeat for several (default: dense_clip_vitb16)")
    model.add_argument("--checkpoint", metavar="PATH", help="trained weights (model.safetensors with model.json beside "
                       "it), run with their own model, or the first --model")
    model.add_argument("--clip", metavar="ID_OR_PATH", help="CLIP weights for every model: hub id, local folder, "
                       "OpenAI .pt file, or random:<size>")
    model.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-upload-mb", type=float, default=defaults.max_upload_mb, metavar="MB",
                        help=f"largest video accepted (default: {defaults.max_upload_mb:g})")
    limits.add_argument("--max-seconds", type=float, default=defaults.max_seconds, metavar="S",
                        help=f"longest video accepted (default: {defaults.max_seconds:g})")
    limits.add_argument("--concurrency", type=int, default=defaults.concurrency, metavar="N",
                        help=f"jobs segmented at once; the others wait in the queue (default: {defaults.concurrency})")
    limits.add_argument("--queue-size", type=int, default=defaults.queue_size, metavar="N",
                        help=f"jobs waiting at most; more are refused (default: {defaults.queue_size})")
    limits.add_argument("--keep-minutes", type=float, default=defaults.keep_minutes, metavar="M",
                        help=f"uploads and results are deleted after M minutes (default: {defaults.keep_minutes:g})")
    parser.add_argument("--no-examples", action="store_true", help="do not offer the generated example videos")


def run(args: argparse.Namespace) -> int:
    from openvidseg.app.server import launch_app, require_gradio
    from openvidseg.app.settings import AppSettings, model_choices
    from openvidseg.models.registry import get_variant

    require_gradio()  # before anything else: the one missing piece a user can fix at once
    for name in args.model:
        get_variant(name)  # unknown names fail here, with close matches
    settings = AppSettings(models=model_choices(args.model, args.checkpoint, args.clip), device=args.device,
                           max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds, concurrency=args.concurrency,
                           queue_size=args.queue_size, keep_minutes=args.keep_minutes, examples=not args.no_examples)
    launch_app(settings, args.host, args.port)
    return 0
