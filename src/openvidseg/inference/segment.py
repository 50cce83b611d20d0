"""Segmenting videos with a vocabulary: a model loaded once (`Segmenter`), and `segment_video`, which yields
one class map per frame, lazily, through the streaming `VideoPredictor` (memory does not grow with length).

    for index, labels in segment_video("clip.mp4", "person, dog, ball"):
        ...  # labels: (H, W) uint8 class indices into the class list (255 = no class), at the frame's size

Models: a registered name (default `dense_clip_vitb16`, training-free, on `openai/clip-vit-base-patch16`),
a trained checkpoint (model.safetensors + model.json, whose JSON names the model; its file, its folder or a
hub id 'user/repo'), or a model instance.
`speed` is a profile (inference/profiles.py): `balanced` (default) runs dense-CLIP models in one pass at
short side 224, `quality` with their own sliding windows (448 for dense_clip_vitb16), `fast` as balanced on
every 3rd frame with class maps carried along the motion in between. `size` is the short side frames
are resized to before the model: by default the dense-CLIP model's (the profile's) `short_side` and, for
the other models, the test short side of their training preset (480 for the ViT-B/16 models, 64 for the
tiny test models).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openvidseg.data.frame_source import FrameSource
from openvidseg.errors import InputError
from openvidseg.inference.predictor import FramePrediction, VideoPredictor
from openvidseg.inference.profiles import DEFAULT_SPEED, get_profile
from openvidseg.models.base import OpenVocabularyModel, VideoSegmenter
from openvidseg.models.checkpoint import checkpoint_label
from openvidseg.runtime import resolve_device, resolve_dtype
from openvidseg.tasks import DEFAULT_MODELS, check_task_options
from openvidseg.vocabulary import NO_CLASS, build_vocabulary, check_class_names, check_prompt_lengths

DEFAULT_MODEL = DEFAULT_MODELS["semantic"]
FALLBACK_SIZE = 480  # short side for models whose preset names none
CHECKPOINT_HINT = "--checkpoint with its trained weights (a model.safetensors or a training run's folder)"


def build_segment_model(model: str | None = None, checkpoint: str | Path | None = None, clip: str | None = None,
                        size: int | None = None, speed: str | None = DEFAULT_SPEED,
                        task: str = "semantic") -> VideoSegmenter:
    """The model to segment with. checkpoint: its own model (named in its JSON) with its weights; with a
    `model` that differs, that model is built and the checkpoint loaded into it strictly (a checkpoint
    of another architecture then fails listing the keys). clip overrides the CLIP source; speed (a
    profile name, default `balanced` as in `segment`) sets how dense-CLIP models cover a frame (None =
    the model's own windows, as `quality`); size sets the
    working short side of models that resize frames themselves (dense CLIP). The model must do `task`
    (default: the task's default model, DEFAULT_MODELS)."""
    from openvidseg.models.checkpoint import load_model, load_weights, read_info, resolve_checkpoint
    from openvidseg.models.registry import accepted_options, create_model, family_builder, get_variant

    if checkpoint is not None:
        checkpoint = resolve_checkpoint(checkpoint)  # a hub id is fetched once, here
        saved = read_info(checkpoint)["model"]
        name = model or saved
    else:
        name = model or DEFAULT_MODELS[task]
    variant = get_variant(name)  # unknown names fail here, with close matches
    if variant.task != task:
        raise InputError(f"model '{name}' does {variant.task} segmentation, not {task}: pass --task {variant.task}, "
                         f"or pick a {task} model (`openvidseg info` lists each model's task)")
    options: dict[str, Any] = {"clip": clip}
    if speed is not None and variant.family == "dense_clip":
        options.update(get_profile(speed).dense_clip_options(variant.options.get("window")))
    if size is not None and "short_side" in accepted_options(family_builder(variant.family)):
        options["short_side"] = size
    if checkpoint is not None and name == saved:
        return load_model(checkpoint, **options)
    built = create_model(name, **options)
    if checkpoint is not None:
        load_weights(built, checkpoint)
    return built


def compile_model(model: VideoSegmenter) -> VideoSegmenter:
    """`torch.compile` every block of the model's CLIP image encoder, in place (the blocks share one compiled
    graph). Pays on GPUs; on the 2-core CPU it was measured not to (docs/performance.md)."""
    for block in model.clip.model.vision_model.encoder.layers:
        block.compile()
    return model


def refuse_untrained(model: VideoSegmenter, default: str | None = DEFAULT_MODEL) -> None:
    """`InputError` for a model whose trainable head has no trained weights (see `has_untrained_head`);
    `default`: the training-free model to suggest (None where the task has none)."""
    from openvidseg.models.checkpoint import has_untrained_head

    if has_untrained_head(model):
        name = getattr(model, "variant_name", type(model).__name__)
        free = f", use the training-free default (leave out --model, or --model {default})" if default else ""
        raise InputError(f"model '{name}' has a trainable head without trained weights, so its masks would be random: "
                         f"pass {CHECKPOINT_HINT}{free}, or pass --allow-untrained (allow_untrained=True) to run it "
                         "anyway (benchmarks, tests)")


def default_size(model: VideoSegmenter) -> int:
    """The short side a model works at when none is given (see the module docstring)."""
    own = getattr(model, "short_side", None)
    if isinstance(own, int):
        return own
    name = getattr(model, "variant_name", None)
    if name is not None:
        from openvidseg.config import load_config
        from openvidseg.models.registry import get_variant

        preset = get_variant(name).preset
        if preset is not None:
            return int(load_config(preset).data.test_short_side)
    return FALLBACK_SIZE


class Segmenter:
    """A model, a vocabulary and inference settings, ready to segment any number of videos.

    size: short side frames are resized to for the model (None = the model's default); class maps come
    back at each frame's own size. min_confidence: pixels whose best class has a softmax probability
    below this (over the frame's own scores) get 255, "no class" (0 = every pixel gets its best class).
    speed: the profile the model was built with (recorded; its keyframe interval applies here);
    keyframe_interval: run the model on every Nth frame and carry class maps along the motion in
    between (None = the profile's; 1 = every frame); batch_size: frames per model call (per-frame models);
    compile: `torch.compile` the CLIP image encoder's blocks (see `compile_model`; the model is changed in place).
    A model whose trainable head has no trained weights is refused unless `allow_untrained` (its masks
    would be random); class names too long for CLIP's text encoder are refused.
    """

    def __init__(self, model: VideoSegmenter, class_names: Sequence[str], *, device: str | torch.device | None = None,
                 precision: str = "fp32", size: int | None = None, memory_interval: int = 30,
                 min_confidence: float = 0.0, checkpoint: str | Path | None = None, speed: str = DEFAULT_SPEED,
                 keyframe_interval: int | None = None, batch_size: int = 1, compile: bool = False,
                 allow_untrained: bool = False):
        self.class_names = check_class_names(class_names)
        if not allow_untrained:
            refuse_untrained(model)
        self.model = compile_model(model) if compile else model
        check_prompt_lengths(self.class_names, self.templates(), model.clip.tokenizer,
                             model.clip.model.config.text_config.max_position_embeddings)
        own = getattr(model, "short_side", None)
        if size is not None and isinstance(own, int) and own != size:
            raise InputError(f"this model resizes frames to a short side of {own} itself; build it with "
                             f"short_side={size}, or leave size unset")
        if size is not None and size < 16:
            raise InputError(f"size {size} is too small: the short side the model works at must be at least 16 pixels")
        if memory_interval < 1:
            raise InputError(f"memory interval {memory_interval}: use a number of frames >= 1")
        if not 0.0 <= min_confidence < 1.0:
            raise InputError(f"minimum confidence {min_confidence}: use a probability from 0 (off) up to below 1")
        interval = get_profile(speed).keyframe_interval if keyframe_interval is None else keyframe_interval
        if interval < 1:
            raise InputError(f"keyframe interval {interval}: use a number of frames >= 1 (1 = the model sees every frame)")
        if batch_size < 1:
            raise InputError(f"batch size {batch_size}: use a number of frames >= 1")
        if batch_size > 1 and (model.ref_offsets or model.uses_random_frame or interval > 1):
            raise InputError(f"batch size {batch_size}: frames are batched for per-frame models without frame reuse "
                             "only (this model reads earlier frames, or keyframes are chosen one by one); use --batch-size 1")
        self.speed, self.keyframe_interval, self.batch_size = speed, interval, batch_size
        self.size = size if size is not None else default_size(model)
        self.device = resolve_device(device)
        self.precision = precision
        resolve_dtype(precision)  # unknown precisions fail here, before any video is opened
        self.memory_interval = memory_interval
        self.min_confidence = min_confidence
        self.checkpoint = checkpoint_label(checkpoint) if checkpoint is not None else None

    def templates(self) -> tuple[str, ...]:
        """The prompt templates the model puts class names in."""
        from openvidseg.clip import load_templates

        templates = self.model.templates
        return load_templates(templates) if isinstance(templates, str) else tuple(templates)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def settings(self) -> dict[str, Any]:
        """The resolved settings, as saved in summary.json."""
        build = getattr(self.model, "build_options", {})
        return {
            "model": getattr(self.model, "variant_name", type(self.model).__name__),
            "clip": build.get("clip", getattr(self.model.clip, "name", None)),
            "checkpoint": self.checkpoint,
            "size": self.size,
            "precision": self.precision,
            "device": str(self.device),
            "memory_interval": self.memory_interval,
            "min_confidence": self.min_confidence,
            "speed": self.speed,
            "keyframe_interval": self.keyframe_interval,
            "classes": list(self.class_names),
        }

    def predictor(self, return_logits: bool = False) -> VideoPredictor:
        """A fresh streaming predictor for one video (run on keyframes only when `keyframe_interval` > 1;
        keeping each frame's logits when `return_logits`)."""
        predictor = VideoPredictor(self.model, self.class_names, device=self.device, precision=self.precision,
                                   short_side=self.size, memory_interval=self.memory_interval,
                                   return_logits=return_logits or self.min_confidence > 0)
        if self.keyframe_interval > 1:
            from openvidseg.inference.keyframes import KeyframePredictor

            return KeyframePredictor(predictor, self.keyframe_interval)
        return predictor

    def probabilities(self, prediction: FramePrediction) -> np.ndarray:
        """(K, H, W) float16 class probabilities (softmax over the frame's scores) of a prediction made with
        `predictor(return_logits=True)`."""
        return prediction.logits.float().softmax(dim=0).to(torch.float16).numpy()

    def class_map(self, prediction: FramePrediction) -> np.ndarray:
        """(H, W) uint8 class indices (255 where the best class is below `min_confidence`)."""
        labels = prediction.labels
        if self.min_confidence > 0:
            confidence = prediction.logits.float().softmax(dim=0).amax(dim=0)
            labels = labels.masked_fill(confidence < self.min_confidence, NO_CLASS)
        return labels.to(torch.uint8).numpy()

    def __call__(self, image: Any) -> np.ndarray:
        """Segment one image: a PIL image, an (H, W, 3) uint8 NumPy array (or gray, RGBA, float 0..1) or an
        image path -> (H, W) uint8 class indices into `class_names` (255 = no class), at the image's size.
        Each call is independent (a one-frame video); use `segment` for the frames of a video."""
        from openvidseg.data.array_frames import as_rgb_frame

        return self.class_map(self.predictor().step(as_rgb_frame(image)))

    def segment(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """(index, (H, W, 3) uint8 frame) pairs in order -> (index, (H, W) uint8 class map), lazily."""
        from openvidseg.inference.stream import predict_frames

        for index, _, prediction in predict_frames(self.predictor(), frames, batch_size=self.batch_size):
            yield index, self.class_map(prediction)


def load_segmenter(classes: str | Sequence[str], *, model: str | VideoSegmenter | None = None,
                   checkpoint: str | Path | None = None, clip: str | None = None, device: str | None = None,
                   precision: str = "fp32", size: int | None = None, memory_interval: int = 30,
                   min_confidence: float = 0.0, background: bool = False, speed: str = DEFAULT_SPEED,
                   keyframe_interval: int | None = None, batch_size: int = 1, compile: bool = False,
                   allow_untrained: bool = False, task: str = "semantic", min_score: float | None = None) -> Segmenter:
    """Check the vocabulary (a comma-separated string or a list of names; `background` appends the
    catch-all class), then load the model and return a `Segmenter` (`allow_untrained`: see `Segmenter`).
    speed: a profile (see the module docstring); a model instance keeps its own windows, only the
    profile's frame reuse applies. task="instance": a `TrackSegmenter` (inference/instance_segment.py)
    showing tracks whose score reaches `min_score`; the options TASK_OPTIONS names for another task
    (memory_interval, min_confidence, background, speed, keyframe_interval, batch_size, compile) are refused."""
    check_task_options(task, {"memory_interval": memory_interval, "min_confidence": min_confidence,
                              "background": background, "speed": speed, "keyframe_interval": keyframe_interval,
                              "batch_size": batch_size, "compile": compile, "min_score": min_score})
    if task == "audio-visual":
        raise InputError("audio-visual segmentation needs the sound: use openvidseg.inference.audio_visual."
                         "AudioVisualPredictor, or `openvidseg segment --task audio-visual`")
    names = build_vocabulary(classes, background=background)
    get_profile(speed)  # an unknown profile fails before the model loads
    if isinstance(model, OpenVocabularyModel):
        if checkpoint is not None or clip is not None:
            raise InputError("a model instance is used as it is: pass checkpoint/clip only with a model name")
        built = model
    else:
        built = build_segment_model(model, checkpoint, clip, size, speed, task=task)
    if task == "instance":
        from openvidseg.inference.instance_segment import DEFAULT_MIN_SCORE, TrackSegmenter

        return TrackSegmenter(built, names, device=device, precision=precision, size=size, checkpoint=checkpoint,
                              allow_untrained=allow_untrained,
                              min_score=DEFAULT_MIN_SCORE if min_score is None else min_score)
    return Segmenter(built, names, device=device, precision=precision, size=size, memory_interval=memory_interval,
                     min_confidence=min_confidence, checkpoint=checkpoint, speed=speed,
                     keyframe_interval=keyframe_interval, batch_size=batch_size, compile=compile,
                     allow_untrained=allow_untrained)


def segment_video(source: str | Path | FrameSource, classes: str | Sequence[str], *,
                  model: str | VideoSegmenter | None = None, checkpoint: str | Path | None = None,
                  clip: str | None = None, device: str | None = None, precision: str = "fp32",
                  size: int | None = None, memory_interval: int = 30, min_confidence: float = 0.0,
                  background: bool = False, fps: float | None = None, speed: str = DEFAULT_SPEED,
                  keyframe_interval: int | None = None, batch_size: int = 1, compile: bool = False,
                  allow_untrained: bool = False, task: str = "semantic",
                  min_score: float | None = None) -> Iterator[tuple[int, Any]]:
    """Segment a video file, frame folder or glob: yields (frame index, (H, W) uint8 class map) lazily,
    class index i = classes[i] (with "background" last when `background`), 255 = no class. The model
    and vocabulary are checked and loaded at the call; frames are decoded and segmented one at a time
    as the iterator is consumed. To segment many videos with one model, pass a loaded model instance
    (e.g. from `create_model`), or use a `Segmenter` (`load_segmenter`) and its `segment`. A trainable
    model without trained weights is refused unless `allow_untrained=True` (see `Segmenter`).
    task="instance": yields (frame index, `TrackedFrame`: (H, W) uint8 track ids and the tracks shown), see
    inference/instance_segment.py; `min_score` is its option (default 0.5)."""
    from openvidseg.data.video import open_frames

    segmenter = load_segmenter(classes, model=model, checkpoint=checkpoint, clip=clip, device=device,
                               precision=precision, size=size, memory_interval=memory_interval,
                               min_confidence=min_confidence, background=background, speed=speed,
                               keyframe_interval=keyframe_interval, batch_size=batch_size, compile=compile,
                               allow_untrained=allow_untrained, task=task, min_score=min_score)
    frames = open_frames(source, fps=fps)
    return _stream(segmenter, frames)


def _stream(segmenter: Segmenter, frames: FrameSource) -> Iterator[tuple[int, Any]]:
    with frames:
        yield from segmenter.segment(frames)
