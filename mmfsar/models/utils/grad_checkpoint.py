# Copyright (c) mmfsar contributors. All rights reserved.
"""Gradient checkpointing that is safe for BatchNorm in train mode."""
from contextlib import contextmanager

from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


@contextmanager
def frozen_bn_stats(module: nn.Module):
    """Restore the BatchNorm running statistics of ``module`` after the
    block."""
    norms = [
        m for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.track_running_stats
    ]
    saved = [(m.running_mean.clone(), m.running_var.clone(),
              m.num_batches_tracked.clone()) for m in norms]
    try:
        yield
    finally:
        for m, (mean, var, count) in zip(norms, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)


def checkpoint_block(block: nn.Module, x: Tensor) -> Tensor:
    """Gradient checkpointing of a block with BatchNorm in train mode.

    The recomputation in backward runs BatchNorm again; without care it
    would update the running statistics twice per step (an effective
    momentum of about 0.19 instead of 0.1), so the recomputation restores
    them.
    """
    calls = [0]

    def run(inp: Tensor) -> Tensor:
        calls[0] += 1
        if calls[0] == 1:
            return block(inp)
        with frozen_bn_stats(block):
            return block(inp)

    return checkpoint(run, x, use_reentrant=False)
