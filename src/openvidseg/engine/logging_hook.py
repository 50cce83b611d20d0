"""The hook that reports training progress (main process only): every `interval` steps one record in
the event log (losses averaged over the steps since the last record, learning rate per group, seconds
per step and waiting for data, iterations/s, ETA), and a tqdm bar with it/s and ETA, or plain lines when the bar is off."""
from __future__ import annotations

import logging
import time

from openvidseg.engine.distributed import is_main_process
from openvidseg.engine.event_log import EventLog
from openvidseg.engine.hooks import HookBase, is_due

logger = logging.getLogger(__name__)


def format_record(record: dict) -> str:
    """One human line for a train record."""
    losses = "  ".join(f"{k} {v:.4f}" for k, v in record.items() if k.startswith("loss"))
    lrs = "  ".join(f"{k} {v:.3g}" for k, v in record.items() if k.startswith("lr/"))
    return (f"iter {record['iteration']}  {losses}  {lrs}  {record['it/s']:.2f} it/s  "
            f"eta {format_seconds(record['eta_seconds'])}")


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class LoggingHook(HookBase):
    """Writes train records to `log` every `interval` steps (and at the last step); shows a progress bar
    when `progress`, else prints each record."""

    def __init__(self, log: EventLog, interval: int, progress: bool = True):
        self.log = log
        self.interval = max(1, interval)
        self.progress = progress
        self.enabled = is_main_process()
        self.bar = None

    def before_train(self) -> None:
        self._reset_window()
        if self.enabled and self.progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.trainer.max_iters, initial=self.trainer.iter, unit="it", desc="train",
                            dynamic_ncols=True)

    def _reset_window(self) -> None:
        self.sums: dict[str, float] = {}
        self.steps = 0
        self.step_seconds = self.data_seconds = 0.0
        self.window_start = time.perf_counter()

    def after_step(self) -> None:
        trainer = self.trainer
        for name, value in trainer.last_losses.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.steps += 1
        self.step_seconds += trainer.last_step_seconds
        self.data_seconds += trainer.last_data_seconds
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{trainer.last_losses.get('loss', float('nan')):.4f}", refresh=False)
            self.bar.update(1)
        if not is_due(trainer.iter, self.interval, trainer.max_iters):
            return
        elapsed = time.perf_counter() - self.window_start
        rate = self.steps / elapsed if elapsed > 0 else 0.0
        record = {"type": "train", "iteration": trainer.iter,
                  **{name: total / self.steps for name, total in self.sums.items()},
                  **{f"lr/{group}": lr for group, lr in trainer.last_lrs.items()},
                  "seconds": self.step_seconds / self.steps, "data_seconds": self.data_seconds / self.steps,
                  "it/s": rate, "eta_seconds": (trainer.max_iters - trainer.iter) / rate if rate > 0 else 0.0}
        if trainer.last_grad_norm is not None:
            record["grad_norm"] = trainer.last_grad_norm
        self.log.write(record)
        if self.enabled and self.bar is None:
            logger.info(format_record(record))
        self._reset_window()

    def after_train(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def message(self, text: str) -> None:
        """Log a line (logger 'openvidseg.engine...') on the main process; the command line's handler
        prints it above the bar."""
        if self.enabled:
            logger.info(text)
