"""Minibatches made ahead of the step that needs them, in worker processes.

Every minibatch is a pure function of (seed, step) (``PatchBatches.batch_at``), so
workers can make future steps in any order and the run sees exactly the batches it
would have made itself: prefetching changes the speed, never the numbers.  A GPU
update of this network takes a few milliseconds, less than one CPU core needs to cut
and degrade a minibatch, so without workers the GPU waits on the data.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from .dataset import PatchBatches


class StepShards:
    """This process's shards of global minibatch ``step``: ``accumulate`` of them per
    rank, cut so that the global batch is the same for any world size."""

    def __init__(self, batches: PatchBatches, accumulate: int, rank: int = 0, world: int = 1):
        self.batches, self.acc, self.rank, self.world = batches, int(accumulate), int(rank), int(world)

    def at(self, step: int) -> list:
        return [self.batches.batch_at(step, self.rank * self.acc + a, self.world * self.acc) for a in range(self.acc)]


class _Steps(Dataset):
    def __init__(self, shards: StepShards, start: int, stop: int):
        self.shards, self.start, self.stop = shards, int(start), int(stop)

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, i: int):
        step = self.start + i
        return step, self.shards.at(step)


def _one_thread(_worker: int) -> None:
    # each worker is one core's worth of FFTs and resampling; nested thread pools
    # would only fight over the cores the other workers use.  Workers are spawned, not
    # forked: a process whose OpenMP pool has run cannot fork safely
    torch.set_num_threads(1)


class PrefetchedSteps:
    """Steps ``start .. stop - 1`` in order, made by ``workers`` processes."""

    def __init__(self, shards: StepShards, start: int, stop: int, workers: int, pin: bool = False, ahead: int = 4):
        loader = DataLoader(_Steps(shards, start, stop), batch_size=None, shuffle=False, num_workers=int(workers),
                            prefetch_factor=int(ahead), pin_memory=pin, worker_init_fn=_one_thread,
                            persistent_workers=False, multiprocessing_context="spawn")
        self._it = iter(loader)
        self._next = int(start)
        self._stop = int(stop)

    def take(self, step: int):
        """The shards of ``step`` if it is the next one this stream holds, else None
        (the caller makes them itself: a stream never hands out the wrong step)."""
        if step != self._next or step >= self._stop:
            return None
        got, shards = next(self._it)
        self._next += 1
        if got != step:  # cannot happen with an in-order loader; never train on a wrong batch
            raise RuntimeError(f"prefetched minibatch {got} arrived for update {step}")
        return shards
