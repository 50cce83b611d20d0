"""Shared pieces of the training tests: a tiny generated dataset and short runs of the tiny presets."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from openvidseg.engine.hooks import HookBase

# a small synthetic set: 3 training videos x 8 frames = 24 clips, 1 validation video
DATA_OVERRIDES = ["data.synthetic.splits.train=3", "data.synthetic.splits.val=1", "data.synthetic.num_frames=8",
                  "data.synthetic.size=[48,64]", "data.crop_size=[48,48]", "data.scale=64", "data.test_short_side=48"]
# every step logged, no periodic evaluation, a checkpoint only at the end
RUN_OVERRIDES = ["train.log_interval=1", "train.eval_interval=0", "train.checkpoint_interval=0",
                 "train.warmup_iters=2", "train.seed=0"]


def overrides(data_root: Path, output_dir: Path, *extra: str) -> list[str]:
    """Config overrides for a short run on the shared tiny dataset writing to `output_dir`."""
    return [f"data.root={data_root}", f"output_dir={output_dir}", *DATA_OVERRIDES, *RUN_OVERRIDES, *extra]


def losses(log_path: Path, key: str = "loss") -> dict[int, float]:
    """iteration -> logged `key` of the train records of a log.jsonl."""
    from openvidseg.engine.event_log import read_log

    return {r["iteration"]: r[key] for r in read_log(log_path, "train")}


def single_thread_env() -> dict[str, str]:
    """The environment for a child process: this one's, one intra-op thread (2 shared cores: two processes
    with 2 spinning OpenMP threads each slow each other down a hundredfold), and this checkout's src/ and
    tests/ importable."""
    here = Path(__file__).resolve().parent
    path = [str(here.parent / "src"), str(here), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(p for p in path if p)}


class KillSelf(HookBase):
    """Ends the process with SIGKILL after step `step`: no cleanup, no flushing, like a killed job."""

    def __init__(self, step: int):
        self.step = step

    def after_step(self) -> None:
        if self.trainer.iter == self.step:
            os.kill(os.getpid(), signal.SIGKILL)
