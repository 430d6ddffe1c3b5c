# Copyright (c) mmfsar contributors. All rights reserved.
import math
from typing import Sequence

from mmaction.registry import PARAM_SCHEDULERS
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler


def clip_fsar_lr_factor(step: int,
                        steps_iter: int,
                        warmup_start_factor: float,
                        steps: Sequence[float] = (0, 4, 6),
                        lrs: Sequence[float] = (1, 0.1, 0.01),
                        warmup_epochs: float = 1,
                        double_count_epoch: bool = False) -> float:
    """LR multiplier of CLIP-FSAR's schedule at iteration ``step``.

    The schedule position is ``e = step / steps_iter`` "epochs": a linear
    warm-up from ``warmup_start_factor`` to 1 while ``e < warmup_epochs``,
    then ``lrs[k]`` for ``steps[k] <= e < steps[k + 1]``. The released code
    computes ``e = floor(step / steps_iter) + step / steps_iter``, counting
    the epoch twice so that every decay comes at half the intended
    iteration; ``double_count_epoch=True`` reproduces that.
    """
    epoch = step / steps_iter
    if double_count_epoch:
        epoch += math.floor(step / steps_iter)
    if epoch < warmup_epochs:
        return warmup_start_factor + (1 - warmup_start_factor) * (
            epoch / warmup_epochs)
    index = max(k for k, start in enumerate(steps) if start <= epoch)
    return lrs[index]


@PARAM_SCHEDULERS.register_module()
class CLIPFSARLR(LRSchedulerMixin, _ParamScheduler):
    """The learning-rate schedule of CLIP-FSAR (SPEC 6.2), per iteration.

    Args:
        optimizer (Optimizer | OptimWrapper): Wrapped optimizer; its ``lr``
            is ``SOLVER.BASE_LR``.
        warmup_start_lr (float): ``SOLVER.WARMUP_START_LR``.
        steps_iter (int): ``SOLVER.STEPS_ITER``, iterations per "epoch".
        steps (Sequence[float]): ``SOLVER.STEPS`` in epochs. Defaults to
            ``(0, 4, 6)``; Kinetics-100 uses ``(0, 6, 9)``.
        lrs (Sequence[float]): ``SOLVER.LRS``, multipliers of the base LR.
            Defaults to ``(1, 0.1, 0.01)``.
        warmup_epochs (float): Defaults to 1.
        double_count_epoch (bool): Reproduce the released code's bug that
            decays at half the intended iterations (for parity with its
            published runs only). Defaults to False.
    """

    def __init__(self,
                 optimizer,
                 warmup_start_lr: float,
                 steps_iter: int,
                 steps: Sequence[float] = (0, 4, 6),
                 lrs: Sequence[float] = (1, 0.1, 0.01),
                 warmup_epochs: float = 1,
                 double_count_epoch: bool = False,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = False,
                 verbose: bool = False) -> None:
        if len(steps) != len(lrs) or steps[0] != 0:
            raise ValueError('param_scheduler steps and lrs must have the '
                             f'same length and steps must start at 0; got '
                             f'steps={steps}, lrs={lrs}.')
        self.warmup_start_lr = warmup_start_lr
        self.steps_iter = steps_iter
        self.steps = list(steps)
        self.lrs = list(lrs)
        self.warmup_epochs = warmup_epochs
        self.double_count_epoch = double_count_epoch
        super().__init__(
            optimizer,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    def _get_value(self) -> list:
        out = []
        for base in self.base_values:
            factor = clip_fsar_lr_factor(self.last_step - self.begin,
                                         self.steps_iter,
                                         self.warmup_start_lr / base,
                                         self.steps, self.lrs,
                                         self.warmup_epochs,
                                         self.double_count_epoch)
            out.append(base * factor)
        return out
