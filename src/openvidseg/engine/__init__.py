"""Training and evaluation machinery, one concept per module:

    training.run_training(cfg)   a whole training run from a config (what `openvidseg train` calls)
    trainer.Trainer              the train loop; hooks.HookBase for what runs around its steps
    logging_hook, checkpoint_hook, eval_hook   the built-in hooks
    optimizer, lr_schedule, precision, sampler, checkpoint, event_log, rng, nan_guard, run_folder
    evaluator.evaluate           scores of a model over a dataset's videos
    distributed                  process-group setup that reads torchrun's environment

Import from the modules (`from openvidseg.engine.trainer import Trainer`); this package imports nothing.
"""
