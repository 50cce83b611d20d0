"""`ScoreResult`: the one result structure that `score`, `eval` and the demo write (metrics.json,
report.md, the per-class chart), so every producer gives the same keys."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from openvidseg.errors import InputError
from openvidseg.metrics.segmentation import SegmentationResult

GROUP_NAMES = ("seen", "unseen")
JSON_KEYS = ("mIoU", "mIoU_seen", "mIoU_unseen", "hIoU", "aAcc", "mAcc", "VC8", "VC16", "per_class", "groups",
             "protocol", "class_names", "split", "split_def", "num_frames", "num_videos")


def _percent(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


@dataclass
class ScoreResult:
    """Scores of one evaluation. Every score is a percentage (0-100) or None (null in JSON) where it is
    undefined: a group with no class of non-empty union, VC without any video longer than 16 frames."""

    miou: float | None
    miou_seen: float | None
    miou_unseen: float | None
    hiou: float | None
    aacc: float | None
    macc: float | None
    vc8: float | None
    vc16: float | None
    per_class: dict[str, float | None]  # class name -> IoU %, in class-index order
    groups: dict[str, list[str]] = field(default_factory=dict)  # "seen"/"unseen" -> class names
    protocol: str = "gzsl"  # gzsl | seen | unseen
    class_names: str = "clean"  # the form of the names: clean | raw
    split: str = "val"  # the dataset split scored
    split_def: str = "ov2vss"  # the seen/unseen split definition
    num_frames: int = 0
    num_videos: int = 0

    # what the report writers (metrics/report.py) need to know about a result kind
    metric_label = "IoU"  # what the per-class numbers are
    group_labels = GROUP_NAMES
    unscored_label = "Not in the ground truth and never predicted"
    undefined_note = ("n/a: undefined (a group with no class in the ground truth or predicted; VC without a video "
                      "longer than 16 frames).")

    @classmethod
    def from_metrics(cls, segmentation: SegmentationResult, consistency: Mapping[int, float | None], *,
                     protocol: str, class_names: str, split: str, split_def: str, num_frames: int,
                     num_videos: int) -> ScoreResult:
        """Percentages from a `SegmentationResult` (with class names and "seen"/"unseen" groups) and
        {8: VC8, 16: VC16} fractions."""
        names = segmentation.class_names
        if names is None:
            raise InputError("the segmentation result has no class names: give SegmentationMetric(class_names=...)")
        group_miou = segmentation.group_miou
        return cls(
            miou=_percent(segmentation.miou), miou_seen=_percent(group_miou.get("seen")),
            miou_unseen=_percent(group_miou.get("unseen")), hiou=_percent(segmentation.hiou),
            aacc=_percent(segmentation.pixel_acc), macc=_percent(segmentation.mean_acc),
            vc8=_percent(consistency.get(8)), vc16=_percent(consistency.get(16)),
            per_class={name: _percent(iou) for name, iou in zip(names, segmentation.iou)},
            groups={g: [names[i] for i in segmentation.groups.get(g, ())] for g in GROUP_NAMES},
            protocol=protocol, class_names=class_names, split=split, split_def=split_def,
            num_frames=num_frames, num_videos=num_videos,
        )

    def group_of(self, name: str) -> str | None:
        """"seen", "unseen" or None for a class name."""
        return next((g for g, names in self.groups.items() if name in names), None)

    def headline(self) -> list[tuple[str, float | None]]:
        """The scores every summary shows, in order: mIoU, seen, unseen, hIoU, aAcc, mAcc, VC8, VC16."""
        return [("mIoU", self.miou), ("mIoU seen", self.miou_seen), ("mIoU unseen", self.miou_unseen),
                ("hIoU", self.hiou), ("aAcc", self.aacc), ("mAcc", self.macc), ("VC8", self.vc8), ("VC16", self.vc16)]

    def context(self) -> str:
        """One line saying what was scored."""
        return (f"protocol {self.protocol}, split {self.split} ({self.split_def}), {self.num_videos} videos, "
                f"{self.num_frames} frames, class names {self.class_names}")

    def setting_rows(self) -> list[tuple[str, object]]:
        """The report's first rows."""
        return [("protocol", self.protocol), ("class names", self.class_names),
                ("split", f"{self.split} (seen/unseen: {self.split_def})"),
                ("frames / videos", f"{self.num_frames} / {self.num_videos}")]

    def chart_heading(self) -> str:
        from openvidseg.metrics.report import format_score

        return f"Per-class IoU (%), protocol {self.protocol}, split {self.split}: mIoU {format_score(self.miou)}"

    def to_json(self) -> dict[str, Any]:
        """The metrics.json mapping (keys in `JSON_KEYS` order)."""
        return {
            "mIoU": self.miou, "mIoU_seen": self.miou_seen, "mIoU_unseen": self.miou_unseen, "hIoU": self.hiou,
            "aAcc": self.aacc, "mAcc": self.macc, "VC8": self.vc8, "VC16": self.vc16,
            "per_class": dict(self.per_class), "groups": {g: list(n) for g, n in self.groups.items()},
            "protocol": self.protocol, "class_names": self.class_names, "split": self.split,
            "split_def": self.split_def, "num_frames": self.num_frames, "num_videos": self.num_videos,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreResult:
        """Back from a metrics.json mapping (e.g. to redraw a report)."""
        missing = [k for k in JSON_KEYS if k not in data]
        if missing:
            raise InputError(f"metrics JSON lacks the keys {', '.join(missing)}: was it written by openvidseg?")
        return cls(
            miou=data["mIoU"], miou_seen=data["mIoU_seen"], miou_unseen=data["mIoU_unseen"], hiou=data["hIoU"],
            aacc=data["aAcc"], macc=data["mAcc"], vc8=data["VC8"], vc16=data["VC16"],
            per_class=dict(data["per_class"]), groups={g: list(n) for g, n in data["groups"].items()},
            protocol=data["protocol"], class_names=data["class_names"], split=data["split"],
            split_def=data["split_def"], num_frames=int(data["num_frames"]), num_videos=int(data["num_videos"]),
        )
