"""The page's example videos, generated when the app starts (nothing is downloaded): short clips of the
synthetic world (`data.synthetic`: textured grounds, moving coloured shapes) with the class names that
describe them."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Example:
    """A generated video and the comma-separated class names it shows."""

    video: Path
    classes: str


@dataclass(frozen=True)
class ExampleSpec:
    name: str
    classes: tuple[str, ...]
    seed: int
    frames: int = 48
    fps: float = 12.0
    size: tuple[int, int] = (240, 320)  # (H, W), even: the H.264 video plays in every browser


EXAMPLES = (
    ExampleSpec("shapes-sky-grass", ("sky", "grass", "red circle", "blue square", "yellow star"), seed=4),
    ExampleSpec("shapes-stripes-checks", ("blue stripes", "brown checker", "green triangle", "white ring"), seed=7),
)


def write_example(spec: ExampleSpec, folder: str | Path) -> Example:
    """Draw `spec` with `write_synthetic_vspw` and encode it as folder/<name>.mp4 (H.264)."""
    from openvidseg.data.synthetic import write_synthetic_vspw
    from openvidseg.data.video import open_frames
    from openvidseg.inference.video_writer import VideoWriter

    path = Path(folder) / f"{spec.name}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="example-", dir=path.parent))
    try:
        info = write_synthetic_vspw(scratch, class_names=spec.classes, num_videos=1, num_frames=spec.frames,
                                    size=spec.size, seed=spec.seed, splits={"val": 1},
                                    objects_per_video=(3, 3), others_prob=0.0, jpeg_quality=95)
        height, width = spec.size
        with open_frames(info.root / "data" / info.videos["val"][0] / "origin") as frames, \
                VideoWriter(path, spec.fps, width, height, crf=18) as writer:
            for _, frame in frames:
                writer.write(frame)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Example(path, ", ".join(spec.classes))


def write_examples(folder: str | Path) -> list[Example]:
    """Every example, written into `folder`."""
    return [write_example(spec, folder) for spec in EXAMPLES]
