"""An exponential moving average of the generator's weights (``train.ema``).

At a constant learning rate the weights wander around a minimum from one update to
the next (the held-out check moves by up to 0.6 dB at x1.1 between checks; averaging
8 checkpoints bought up to 0.3 dB: docs/RESULTS.md).  A running average taken every
update sits nearer the centre at no cost to training, which is why SR codebases
(BasicSR's ``ema_decay``, ESRGAN and SwinIR runs) evaluate and ship it.

Every floating-point tensor of the state is averaged, BatchNorm's running statistics
included; integer counters are copied.  Early on the decay is capped at
``(1 + n) / (10 + n)`` after ``n`` updates, so the average follows a fresh network
instead of remembering its random start for thousands of updates.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float, updates: int = 0):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"train.ema must be between 0 and 1 (0 turns it off), got {decay}")
        self.decay = float(decay)
        self.updates = int(updates)
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        n = self.updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold ``model``'s weights after one more optimiser step into the average."""
        self.updates += 1
        d = self.current_decay()
        live = model.state_dict()
        for name, avg in self.model.state_dict().items():
            new = live[name].detach()
            if avg.is_floating_point():
                avg.mul_(d).add_(new.to(avg.dtype), alpha=1.0 - d)
            else:
                avg.copy_(new)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict, updates: int) -> None:
        self.model.load_state_dict(state)
        self.updates = int(updates)
