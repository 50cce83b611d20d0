"""Mixed precision for training: fp32 (nothing), bf16 autocast (CPU and GPU), or fp16 autocast with a
gradient scaler (CUDA only). Wraps the three places precision touches a step: the forward pass, the
backward pass and the optimizer step (with gradient unscaling before clipping)."""
from __future__ import annotations

import contextlib
from typing import Any

import torch

from openvidseg.errors import ConfigError
from openvidseg.runtime import resolve_dtype


class MixedPrecision:
    """`precision`: 'fp32' | 'bf16' | 'fp16' on `device`. fp16 keeps a `torch.amp.GradScaler`, whose
    state belongs in checkpoints (`state_dict`)."""

    def __init__(self, precision: str, device: torch.device):
        self.dtype = resolve_dtype(precision)
        self.device = device
        if self.dtype == torch.float16 and device.type != "cuda":
            raise ConfigError(f"train.precision=fp16 needs a CUDA GPU (it trains with a gradient scaler), but the device "
                              f"is {device.type}: use train.precision=bf16 or fp32")
        self.scaler = torch.amp.GradScaler("cuda") if self.dtype == torch.float16 else None

    @property
    def name(self) -> str:
        return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context to run the forward pass in."""
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale_(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients back to their true scale (before clipping them)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Apply the gradients (fp16: skipped when they overflowed, and the scale adapts)."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
