"""`AudioVisualScoreResult`: what `score --task audio-visual`, audio-visual evaluation and its demo write, in
percent, through the shared report writers (metrics.json, report.md, a per-class IoU chart)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from openvidseg.errors import InputError

GROUP_NAMES = ("base", "novel")
JSON_KEYS = ("mIoU", "mIoU_base", "mIoU_novel", "hIoU", "F", "F_base", "F_novel", "aAcc", "mAcc", "per_class",
             "per_class_F", "groups", "task", "F_mode", "size", "split", "split_def", "class_names", "num_frames",
             "num_videos")


@dataclass
class AudioVisualScoreResult:
    """AVSBench-OV scores in percent (0-100), None (null in JSON) where undefined (a group with no class in
    the ground truth or predicted). mIoU and per-class IoU include background (a class of the 71 x 71 matrix,
    in neither group); the F-score is over the sounding classes only."""

    miou: float | None
    miou_base: float | None
    miou_novel: float | None
    hiou: float | None
    fscore: float | None
    fscore_base: float | None
    fscore_novel: float | None
    aacc: float | None
    macc: float | None
    per_class: dict[str, float | None]  # class name -> IoU %, background first, in id order
    per_class_fscore: dict[str, float | None] = field(default_factory=dict)  # class name -> F % (no background)
    groups: dict[str, list[str]] = field(default_factory=dict)  # "base" / "novel" -> class names
    fscore_mode: str = "exact"  # exact | reference (openvidseg.metrics.fscore)
    size: int = 224  # the side both maps were resized to
    split: str = "test"
    split_def: str = "ov_avss"
    class_names: str = "clean"
    num_frames: int = 0
    num_videos: int = 0

    metric_label = "IoU"
    group_labels = GROUP_NAMES
    unscored_label = "Not in the ground truth and never predicted"
    undefined_note = ("n/a: undefined (a group with no class in the ground truth or predicted). mIoU includes "
                      "background; F (beta^2 = 0.3) is over the sounding classes, per class per clip.")

    @property
    def harmonic_f(self) -> float | None:
        from openvidseg.metrics.segmentation import harmonic_mean

        return harmonic_mean(self.fscore_base, self.fscore_novel)

    def group_of(self, name: str) -> str | None:
        """"base", "novel" or None (background) for a class name."""
        return next((g for g, names in self.groups.items() if name in names), None)

    def headline(self) -> list[tuple[str, float | None]]:
        """The scores every summary shows, in order."""
        return [("mIoU", self.miou), ("mIoU base", self.miou_base), ("mIoU novel", self.miou_novel),
                ("hIoU", self.hiou), ("F", self.fscore), ("F base", self.fscore_base), ("F novel", self.fscore_novel),
                ("aAcc", self.aacc), ("mAcc", self.macc)]

    def context(self) -> str:
        """One line saying what was scored."""
        return (f"audio-visual, split {self.split} ({self.split_def}), {self.num_videos} videos, {self.num_frames} "
                f"frames at {self.size}x{self.size}, F-score {self.fscore_mode}, class names {self.class_names}")

    def setting_rows(self) -> list[tuple[str, object]]:
        """The report's first rows."""
        return [("task", "audio-visual"), ("split", f"{self.split} (base/novel: {self.split_def})"),
                ("class names", self.class_names), ("scored at", f"{self.size}x{self.size}"),
                ("F-score", f"beta^2 = 0.3, {self.fscore_mode} definition (openvidseg.metrics.fscore)"),
                ("frames / videos", f"{self.num_frames} / {self.num_videos}")]

    def chart_heading(self) -> str:
        from openvidseg.metrics.report import format_score

        return (f"Per-class IoU (%), audio-visual, split {self.split}: mIoU {format_score(self.miou)}, "
                f"F {format_score(self.fscore)}")

    def to_json(self) -> dict[str, Any]:
        """The metrics.json mapping (keys in `JSON_KEYS` order)."""
        return {"mIoU": self.miou, "mIoU_base": self.miou_base, "mIoU_novel": self.miou_novel, "hIoU": self.hiou,
                "F": self.fscore, "F_base": self.fscore_base, "F_novel": self.fscore_novel, "aAcc": self.aacc,
                "mAcc": self.macc, "per_class": dict(self.per_class), "per_class_F": dict(self.per_class_fscore),
                "groups": {g: list(n) for g, n in self.groups.items()}, "task": "audio-visual",
                "F_mode": self.fscore_mode, "size": self.size, "split": self.split, "split_def": self.split_def,
                "class_names": self.class_names, "num_frames": self.num_frames, "num_videos": self.num_videos}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AudioVisualScoreResult:
        """Back from a metrics.json mapping."""
        missing = [k for k in JSON_KEYS if k not in data]
        if missing:
            raise InputError(f"audio-visual metrics JSON lacks the keys {', '.join(missing)}: was it written by openvidseg?")
        return cls(miou=data["mIoU"], miou_base=data["mIoU_base"], miou_novel=data["mIoU_novel"], hiou=data["hIoU"],
                   fscore=data["F"], fscore_base=data["F_base"], fscore_novel=data["F_novel"], aacc=data["aAcc"],
                   macc=data["mAcc"], per_class=dict(data["per_class"]), per_class_fscore=dict(data["per_class_F"]),
                   groups={g: list(n) for g, n in data["groups"].items()}, fscore_mode=data["F_mode"],
                   size=int(data["size"]), split=data["split"], split_def=data["split_def"],
                   class_names=data["class_names"], num_frames=int(data["num_frames"]),
                   num_videos=int(data["num_videos"]))
