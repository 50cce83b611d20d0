"""The task families behind the one `--task` switch of segment / eval / score / demo, and the options that
belong to one task. Light on imports, so the command line can read it before anything heavy loads. A new
family adds its name to the commands it supports (COMMAND_TASKS) and its segment options to TASK_OPTIONS."""
from __future__ import annotations

from typing import Any

from openvidseg.errors import InputError

# the tasks each command does (its --task choices; the first is the default)
COMMAND_TASKS = {"segment": ("semantic", "instance", "audio-visual"), "eval": ("semantic", "instance", "audio-visual"),
                 "demo": ("semantic", "instance", "audio-visual")}  # each with its runner in cli/<command>.py TASKS
SEGMENT_TASKS = COMMAND_TASKS["segment"]
# segment's model per task
DEFAULT_MODELS = {"semantic": "dense_clip_vitb16", "instance": "clip_vis_vitb16", "audio-visual": "ov_avss_vitb16"}
# segment options that belong to one task: name -> (task, default); the command line's flags have these names
TASK_OPTIONS: dict[str, tuple[str, Any]] = {
    "memory_interval": ("semantic", 30), "min_confidence": ("semantic", 0.0), "background": ("semantic", False),
    "speed": ("semantic", "balanced"), "keyframe_interval": ("semantic", None), "batch_size": ("semantic", 1),
    "compile": ("semantic", False), "format": ("semantic", "png"), "save_scores": ("semantic", False),
    "min_score": ("instance", None),
    "audio": ("audio-visual", None), "audio_missing": ("audio-visual", "error"), "audio_encoder": ("audio-visual", None),
}


def check_task_options(task: str, options: dict[str, Any], tasks: tuple[str, ...] = SEGMENT_TASKS) -> None:
    """`InputError` for a task outside `tasks`, or an option of another task given a value other than its default
    (`options`: name -> value, names as in TASK_OPTIONS)."""
    if task not in tasks:
        raise InputError(f"unknown task '{task}': use one of {', '.join(tasks)}")
    for name, value in options.items():
        owner, default = TASK_OPTIONS[name]
        if owner != task and value != default:
            raise InputError(f"{name} (--{name.replace('_', '-')}) is for task {owner}, not {task}: leave it out")
