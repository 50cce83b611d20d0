"""The hook that evaluates the model every `interval` steps and at the last step, with the evaluator
(all processes share the videos), and records the metrics: an "eval" record in the event log and
metrics.json / report.md / per-class chart under <run>/eval/iter_NNNNNNN/."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from openvidseg.data.splits import EvalProtocol
from openvidseg.engine.checkpoint import checkpoint_name
from openvidseg.engine.distributed import is_main_process
from openvidseg.engine.evaluator import evaluate
from openvidseg.engine.event_log import EventLog
from openvidseg.engine.hooks import HookBase, is_due
from openvidseg.engine.rng import preserved_rng

HEADLINE = ("mIoU", "mIoU_seen", "mIoU_unseen", "hIoU", "aAcc", "mAcc", "VC8", "VC16")


class EvalHook(HookBase):
    """Evaluates on `videos` under `protocol` (evaluator settings as keyword arguments: class_name_form,
    split, mode, device, precision, short_side, test_mode); writes to `log` and `folder`. Generators' states are
    kept as they were, so evaluating does not change the training that follows."""

    def __init__(self, videos: Sequence[Any], protocol: EvalProtocol, interval: int, *, log: EventLog,
                 folder: str | Path, class_name_form: str = "clean", split: str = "val", mode: str = "clip",
                 device: torch.device | None = None, precision: str = "fp32", short_side: int | None = None,
                 test_mode: str = "whole", message: Callable[[str], None] = print):
        self.videos = list(videos)
        self.protocol = protocol
        self.interval = interval
        self.log = log
        self.folder = Path(folder)
        self.settings = dict(class_name_form=class_name_form, split=split, mode=mode, device=device,
                             precision=precision, short_side=short_side, test_mode=test_mode)
        self.message = message
        self.results: list[tuple[int, dict[str, Any]]] = []

    def after_step(self) -> None:
        trainer = self.trainer
        if not is_due(trainer.iter, self.interval, trainer.max_iters):
            return
        with preserved_rng():
            result = evaluate(trainer.module, self.videos, self.protocol, progress=False, **self.settings)
        trainer.model.train()
        scores = result.to_json()
        self.results.append((trainer.iter, scores))
        if not is_main_process():
            return
        from openvidseg.metrics.report import write_reports

        record = {"type": "eval", "iteration": trainer.iter, **{k: scores[k] for k in HEADLINE},
                  "num_frames": scores["num_frames"], "num_videos": scores["num_videos"]}
        self.log.write(record)
        settings = {"iteration": trainer.iter, "mode": self.settings["mode"], "protocol": scores["protocol"]}
        write_reports(result, self.folder / checkpoint_name(trainer.iter), title=f"Evaluation at iteration {trainer.iter}",
                      settings=settings)
        shown = "  ".join(f"{k} {scores[k]:.2f}" for k in HEADLINE if scores[k] is not None)
        self.message(f"eval at iter {trainer.iter} ({scores['num_videos']} video(s), {scores['num_frames']} frames): {shown}")
