"""`InstanceScoreResult`: what `score --task instance` (and instance evaluation) writes, in percent, through the
same report writers as the semantic `ScoreResult` (metrics.json, report.md, a per-class AP chart)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from openvidseg.errors import InputError
from openvidseg.metrics.video_ap import SUMMARY, VideoAPResult

SCORE_KEYS = tuple(name for name, *_ in SUMMARY)  # AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl
GROUP_NAMES = ("base", "novel")
JSON_KEYS = (*SCORE_KEYS, "AP_base", "AP_novel", "per_class", "groups", "task", "annotations", "split_def",
             "class_names", "num_videos", "num_predictions")


def _percent(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


@dataclass
class InstanceScoreResult:
    """Video instance scores in percent (0-100), None (null in JSON) where undefined: an area range or
    group with no ground-truth track, a class never in the ground truth."""

    scores: dict[str, float | None]  # SCORE_KEYS -> %
    ap_base: float | None
    ap_novel: float | None
    per_class: dict[str, float | None]  # class name -> AP %, in category order
    groups: dict[str, list[str]] = field(default_factory=dict)  # "base" / "novel" -> class names
    annotations: str = ""  # the ground-truth file scored against
    split_def: str = "all"  # the base/novel split definition
    class_names: str = "clean"  # the form of the names
    num_videos: int = 0
    num_predictions: int = 0

    metric_label = "AP"  # what the per-class numbers are
    group_labels = GROUP_NAMES
    unscored_label = "Not in the ground truth"

    @classmethod
    def from_video_ap(cls, result: VideoAPResult, names: Mapping[int, str], groups: Mapping[str, list[int]], *,
                      annotations: str, split_def: str, class_names: str, num_predictions: int) -> InstanceScoreResult:
        """Percentages from a `VideoAPResult`; `names`: category id -> class name; `groups`: "base" / "novel"
        -> category ids (the result's groups must have been computed over the same ids)."""
        missing = [c for c in result.per_class if c not in names]
        if missing:
            raise InputError(f"no class name for category ids {missing[:5]}")
        return cls(
            scores={k: _percent(result.scores.get(k)) for k in SCORE_KEYS},
            ap_base=_percent(result.groups.get("base")), ap_novel=_percent(result.groups.get("novel")),
            per_class={names[c]: _percent(ap) for c, ap in result.per_class.items()},
            groups={g: [names[c] for c in groups.get(g, [])] for g in GROUP_NAMES},
            annotations=annotations, split_def=split_def, class_names=class_names, num_videos=result.num_videos,
            num_predictions=num_predictions)

    @property
    def ap(self) -> float | None:
        return self.scores.get("AP")

    def group_of(self, name: str) -> str | None:
        """"base", "novel" or None for a class name."""
        return next((g for g, names in self.groups.items() if name in names), None)

    def headline(self) -> list[tuple[str, float | None]]:
        """The scores every summary shows, in order."""
        return [("AP", self.ap), ("AP_base", self.ap_base), ("AP_novel", self.ap_novel)] + [
            (k, self.scores.get(k)) for k in ("AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")]

    def context(self) -> str:
        """One line saying what was scored."""
        return (f"video instance AP, {self.annotations} ({self.split_def}), {self.num_videos} videos, "
                f"{self.num_predictions} predicted tracks, class names {self.class_names}")

    def setting_rows(self) -> list[tuple[str, object]]:
        """The report's first rows."""
        return [("task", "instance"), ("annotations", self.annotations), ("base/novel", self.split_def),
                ("class names", self.class_names), ("videos / predicted tracks", f"{self.num_videos} / {self.num_predictions}")]

    def chart_heading(self) -> str:
        from openvidseg.metrics.report import format_score

        return f"Per-class video AP (%), {self.annotations}: AP {format_score(self.ap)}"

    undefined_note = ("n/a: undefined (no ground-truth track of that size, or no class of the group in the ground "
                      "truth). AP: IoU 0.50:0.05:0.95, 101 recall points, at most 100 tracks per video; sizes: "
                      "mean area over frames with a mask, small < 128^2 <= medium <= 256^2 < large.")

    def to_json(self) -> dict[str, Any]:
        """The metrics.json mapping (keys in `JSON_KEYS` order)."""
        return {**{k: self.scores.get(k) for k in SCORE_KEYS}, "AP_base": self.ap_base, "AP_novel": self.ap_novel,
                "per_class": dict(self.per_class), "groups": {g: list(n) for g, n in self.groups.items()},
                "task": "instance", "annotations": self.annotations, "split_def": self.split_def,
                "class_names": self.class_names, "num_videos": self.num_videos, "num_predictions": self.num_predictions}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceScoreResult:
        """Back from a metrics.json mapping."""
        missing = [k for k in JSON_KEYS if k not in data]
        if missing:
            raise InputError(f"instance metrics JSON lacks the keys {', '.join(missing)}: was it written by openvidseg?")
        return cls(scores={k: data[k] for k in SCORE_KEYS}, ap_base=data["AP_base"], ap_novel=data["AP_novel"],
                   per_class=dict(data["per_class"]), groups={g: list(n) for g, n in data["groups"].items()},
                   annotations=data["annotations"], split_def=data["split_def"], class_names=data["class_names"],
                   num_videos=int(data["num_videos"]), num_predictions=int(data["num_predictions"]))
