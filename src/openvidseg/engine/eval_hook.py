"""The hook that evaluates the model every `interval` steps and at the last step (all processes share the
videos), and records the metrics: an "eval" record in the event log and metrics.json / report.md / per-class
chart under <run>/eval/iter_NNNNNNN/. What evaluation means is the task's: a function of the model giving a
result the report writers know (the semantic `ScoreResult`, the instance `InstanceScoreResult`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from openvidseg.engine.checkpoint import checkpoint_name
from openvidseg.engine.distributed import is_main_process
from openvidseg.engine.event_log import EventLog
from openvidseg.engine.hooks import HookBase, is_due
from openvidseg.engine.rng import preserved_rng

HEADLINE = ("mIoU", "mIoU_seen", "mIoU_unseen", "hIoU", "aAcc", "mAcc", "VC8", "VC16")  # semantic record keys
INSTANCE_HEADLINE = ("AP", "AP_base", "AP_novel", "AP50", "AP75", "AR1", "AR10", "AR100")
COUNT_KEYS = ("num_frames", "num_videos", "num_predictions")


class EvalHook(HookBase):
    """Calls `evaluate(model, folder)` (the unwrapped module, which it shares out over processes itself, and this
    evaluation's report folder, for outputs of its own such as predictions) when due; writes `record_keys` of the
    result's metrics.json to `log`, reports to <folder>/iter_NNNNNNN, one line to `message`.
    `settings` head each report. Generators' states are kept as they were, so evaluating does not change the
    training that follows."""

    def __init__(self, evaluate: Callable[[nn.Module, Path], Any], interval: int, *, log: EventLog, folder: str | Path,
                 record_keys: Sequence[str] = HEADLINE, settings: Mapping[str, Any] | None = None,
                 message: Callable[[str], None] = print):
        self.evaluate = evaluate
        self.interval = interval
        self.log = log
        self.folder = Path(folder)
        self.record_keys = tuple(record_keys)
        self.settings = dict(settings or {})
        self.message = message
        self.results: list[tuple[int, dict[str, Any]]] = []

    def after_step(self) -> None:
        trainer = self.trainer
        if not is_due(trainer.iter, self.interval, trainer.max_iters):
            return
        folder = self.folder / checkpoint_name(trainer.iter)
        with preserved_rng():
            result = self.evaluate(trainer.module, folder)
        trainer.model.train()
        scores = result.to_json()
        self.results.append((trainer.iter, scores))
        if not is_main_process():
            return
        from openvidseg.metrics.report import format_score, write_reports

        record = {"type": "eval", "iteration": trainer.iter, **{k: scores.get(k) for k in self.record_keys},
                  **{k: scores[k] for k in COUNT_KEYS if k in scores}}
        self.log.write(record)
        write_reports(result, folder, title=f"Evaluation at iteration {trainer.iter}",
                      settings={"iteration": trainer.iter, **self.settings})
        shown = "  ".join(f"{k} {format_score(scores[k])}" for k in self.record_keys if scores.get(k) is not None)
        counted = f"{scores['num_videos']} video(s)" + (f", {scores['num_frames']} frames" if "num_frames" in scores else "")
        self.message(f"eval at iter {trainer.iter} ({counted}): {shown}")
