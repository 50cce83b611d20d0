"""Make docs/app.png, the README's picture of the web app, with nothing downloaded.

The model has to have learnt something for the picture to mean anything, and real CLIP weights cannot
be fetched offline, so the page segments a validation video of the offline demo's synthetic world
(`openvidseg demo`) with the training-free dense CLIP on the world's tiny pretrained CLIP (the demo's
`dense_clip` row; the world and the CLIP are cached as the demo caches them). The video's frames are
enlarged 4x (nearest) so the page shows them at a readable size; the model still sees 96 x 96.

    python docs/make_app_screenshot.py [--out docs/app.png] [--cache DIR]

Needs the dev extra and Chromium (apt-get install chromium chromium-driver); about 5 minutes on 2 cores
the first time (the CLIP pretraining), under a minute after.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the browser helpers of the app's tests

from app_helpers import chromium, free_port, segment_in_page, wait_for  # noqa: E402

SCALE, FPS, SEEK_S = 4, 6.0, 1.5


def world_video(world: Path, out: Path) -> tuple[Path, list[str]]:
    """The world's first validation video as an MP4 (frames enlarged SCALE times) and the names of the
    classes its ground truth shows, largest first."""
    from openvidseg.data.vspw_layout import dataset_classes, frame_path, mask_path, split_videos, video_frames
    from openvidseg.inference.video_writer import VideoWriter

    video = split_videos(world, "val")[0]
    frames = video_frames(world, video)
    images = [Image.open(frame_path(world, video, f)).convert("RGB") for f in frames]
    masks = np.stack([np.asarray(Image.open(mask_path(world, video, f))) for f in frames])
    width, height = images[0].width * SCALE, images[0].height * SCALE
    with VideoWriter(out, FPS, width, height, crf=16) as writer:
        for image in images:
            writer.write(np.asarray(image.resize((width, height), Image.NEAREST)))
    names = dataset_classes(world)
    ids, counts = np.unique(masks[masks > 0], return_counts=True)
    return out, [names[int(i) - 1] for i in ids[np.argsort(-counts)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "app.png"))
    parser.add_argument("--cache", help="where the world and its CLIP are kept (default: the demo's cache)")
    args = parser.parse_args()

    import torch

    from openvidseg.app.models import ModelCache
    from openvidseg.app.server import launch_app
    from openvidseg.app.settings import AppSettings, ModelChoice
    from openvidseg.demo.experiment import MAIN_VARIANTS, DemoSettings, cache_root, model_options, prepare
    from openvidseg.models import create_model

    torch.set_num_threads(1)
    paths, _ = prepare(DemoSettings.make(quick=True), Path(args.cache) if args.cache else cache_root(), print)
    variant = next(v for v in MAIN_VARIANTS if v.name == "dense_clip")
    model = create_model(variant.model, **model_options(variant, paths))
    choice = ModelChoice("dense_clip_tiny on the demo world's tiny CLIP", variant.model)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        video, classes = world_video(paths.world, scratch / "world-walk.mp4")
        app = launch_app(AppSettings(models=(choice,), device="cpu"), "127.0.0.1", free_port(), block=False,
                         parent=scratch, models=ModelCache(build=lambda _: model), quiet=True)
        driver = chromium(scratch / "profile", width=1280, height=1480)
        try:
            segment_in_page(driver, app.url, video, ", ".join(classes))
            driver.execute_script("const v = document.querySelector('#overlay video'); v.muted = true; v.play()")
            wait_for(driver, lambda d: d.execute_script(  # a frame some way in (setting currentTime did not take)
                f"const v = document.querySelector('#overlay video'); if (v.currentTime >= {SEEK_S}) v.pause();"
                " return v.paused"), what="the overlay to play")
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(str(scratch / "page.png"))
        finally:
            driver.quit()
            app.close()
        with Image.open(scratch / "page.png") as page:
            page.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KB); classes: {', '.join(classes)}")


if __name__ == "__main__":
    main()
