# Copyright (c) mmfsar contributors. All rights reserved.
from contextlib import contextmanager
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
from mmaction.registry import OPTIM_WRAPPERS
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import nn
from torch.nn.modules.batchnorm import _NormBase

AMP_WRAPPERS = {
    'OptimWrapper': 'AmpOptimWrapper',
    'FiniteOptimWrapper': 'FiniteAmpOptimWrapper'
}
"""Optim wrapper type -> its mixed-precision counterpart (``--amp``)."""


def norm_buffers(model: nn.Module) -> List[torch.Tensor]:
    """The running statistics of the normalisation layers that keep them
    (BatchNorm, SyncBatchNorm, InstanceNorm with ``track_running_stats``):
    the buffers a training forward pass writes."""
    return [
        buffer for module in model.modules() if isinstance(module, _NormBase)
        for buffer in module.buffers(recurse=False)
    ]


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that never lets a non-finite loss or gradient
    change the model.

    The unit that is skipped is one optimizer step, that is one window of
    ``accumulative_counts`` iterations: if any iteration of the window has
    a non-finite loss, or the accumulated gradients are non-finite at the
    window's end, the window's gradients are dropped, the optimizer does
    not step (its state is untouched) and the running statistics of the
    normalisation layers (BatchNorm buffers, which a forward pass in
    training mode updates even when its loss is NaN) are restored to their
    values before the window. The model is then exactly as it was before
    the window. Every iteration is still back-propagated, so that
    distributed ranks stay in step, and under DistributedDataParallel the
    ranks agree on the skip.

    The released code, on a NaN loss, back-propagates it, zeroes the
    gradients and carries on with the accumulation window: the episodes
    accumulated before the NaN are dropped and the step is taken with the
    rest, still scaled for a full window. mmfsar drops the whole window
    instead, because (1) a step of a fixed number of episodes should not
    silently become a smaller one; (2) under DistributedDataParallel the
    synchronising backward has already spread non-finite gradients to
    every rank, so only the whole window can be dropped on all ranks alike
    (the released loop checks the loss of each GPU on its own); (3) it
    needs no copy of the gradients.

    A run whose steps keep being skipped is stopped: after more than
    ``max_consecutive_skips`` skipped steps in a row, and (checked by
    ``EpisodicTrainLoop`` at each validation point, before validating) when
    more than ``max_skip_share`` of the optimizer steps since the previous
    validation point were skipped. Both errors name the iteration.

    Args:
        on_nonfinite (str): ``'skip'`` or ``'raise'`` (stop at the first
            non-finite loss or gradient). Defaults to ``'skip'``.
        max_consecutive_skips (int): Skipped steps in a row tolerated.
            Defaults to 10.
        max_skip_share (float): Share of skipped steps per validation
            interval tolerated, in [0, 1]. Defaults to 0.25.
        **kwargs: ``OptimWrapper`` arguments.
    """

    def __init__(self,
                 *args,
                 on_nonfinite: str = 'skip',
                 max_consecutive_skips: int = 10,
                 max_skip_share: float = 0.25,
                 **kwargs) -> None:
        if on_nonfinite not in ('skip', 'raise'):
            raise ValueError("optim_wrapper.on_nonfinite must be 'skip' or "
                             f"'raise', got {on_nonfinite!r}")
        if not (isinstance(max_consecutive_skips, int)
                and max_consecutive_skips >= 0):
            raise ValueError('optim_wrapper.max_consecutive_skips must be an '
                             f'int >= 0, got {max_consecutive_skips!r}')
        if not 0 <= max_skip_share <= 1:
            raise ValueError('optim_wrapper.max_skip_share must be in [0, 1], '
                             f'got {max_skip_share!r}')
        super().__init__(*args, **kwargs)
        self.on_nonfinite = on_nonfinite
        self.max_consecutive_skips = max_consecutive_skips
        self.max_skip_share = max_skip_share
        self.num_skipped = 0
        self.consecutive_skips = 0
        self._interval_steps = 0
        self._interval_skips = 0
        self._window_nonfinite = False
        self._norm_snapshot: Optional[List[torch.Tensor]] = None
        self._norm_model: Optional[nn.Module] = None

    @staticmethod
    def _iteration() -> int:
        return MessageHub.get_current_instance().get_info('iter', -1)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """mmengine's context around the forward pass (gradient sync, AMP);
        at the first forward pass of an accumulation window it also copies
        the running statistics of the normalisation layers."""
        if self._norm_snapshot is None:
            self._norm_model = model
            self._norm_snapshot = [b.clone() for b in norm_buffers(model)]
        with super().optim_context(model):
            yield

    def _restore_norm_buffers(self) -> None:
        if self._norm_snapshot is None:
            return
        with torch.no_grad():
            for buffer, saved in zip(
                    norm_buffers(self._norm_model), self._norm_snapshot):
                buffer.copy_(saved)

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """Back-propagate ``loss``; at the end of an accumulation window
        step if the window was finite, skip it otherwise."""
        if not torch.isfinite(loss.detach()).all():
            message = (f'Non-finite loss {loss.item()} at iteration '
                       f'{self._iteration()}')
            if self.on_nonfinite == 'raise':
                raise FloatingPointError(
                    message + " (optim_wrapper.on_nonfinite='raise').")
            self._window_nonfinite = True
            print_log(
                message + '; the optimizer step of its accumulation window '
                'will be skipped.',
                logger='current',
                level=30)
        self.backward(self.scale_loss(loss))
        if self._window_nonfinite:
            # At once (after the backward pass, which reads the buffers), so
            # that a validation inside the window sees clean statistics.
            self._restore_norm_buffers()
        if not self.should_update():
            return
        finite = self._step_if_finite(step_kwargs or {})
        self.zero_grad(**(zero_kwargs or {}))
        if not finite:
            self._skip_step()
        else:
            self.consecutive_skips = 0
        self._interval_steps += 1
        self._window_nonfinite = False
        self._norm_snapshot = self._norm_model = None

    def _step_if_finite(self, step_kwargs: Dict) -> bool:
        """Step if the window is finite; returns whether it stepped."""
        finite = self._window_is_finite()
        if finite:
            self.step(**step_kwargs)
        return finite

    def _skip_detail(self) -> str:
        return ''

    def _window_is_finite(self) -> bool:
        grads = [
            p.grad for group in self.optimizer.param_groups
            for p in group['params'] if p.grad is not None
        ]
        # One device-to-host sync for all gradients.
        finite = not grads or bool(
            torch.stack([torch.isfinite(g).all() for g in grads]).all())
        if not finite and self.on_nonfinite == 'raise':
            raise FloatingPointError(
                f'Non-finite gradients at iteration {self._iteration()} '
                "(optim_wrapper.on_nonfinite='raise').")
        bad = torch.tensor(float(self._window_nonfinite or not finite))
        if torch_dist.is_available() and torch_dist.is_initialized():
            # A rank may have seen a non-finite loss whose gradients are
            # finite (a term without parameters); all ranks skip together.
            if grads:
                bad = bad.to(grads[0].device)
            torch_dist.all_reduce(bad, op=torch_dist.ReduceOp.MAX)
        return not bool(bad)

    def _skip_step(self) -> None:
        self._restore_norm_buffers()
        self.num_skipped += 1
        self.consecutive_skips += 1
        self._interval_skips += 1
        iteration = self._iteration()
        print_log(
            f'Skipped the optimizer step at iteration {iteration}: '
            'non-finite loss or gradients in its accumulation window; the '
            f'model is as before the window ({self.num_skipped} skipped so '
            f'far, {self.consecutive_skips} in a row){self._skip_detail()}.',
            logger='current',
            level=30)
        if self.consecutive_skips > self.max_consecutive_skips:
            raise FloatingPointError(
                f'{self.consecutive_skips} optimizer steps in a row were '
                'skipped for non-finite loss or gradients, the last at '
                f'iteration {iteration} (optim_wrapper.max_consecutive_skips='
                f'{self.max_consecutive_skips}): stopping. Check the learning '
                'rate and the inputs (e.g. a zero std in the data '
                'preprocessor).')

    def check_skip_share(self, iteration: int) -> None:
        """Stop if too many steps since the last call were skipped; then
        start counting again. ``EpisodicTrainLoop`` calls it at each
        validation point.

        Args:
            iteration (int): The iteration reached, for the message.
        """
        steps, skips = self._interval_steps, self._interval_skips
        self._interval_steps = self._interval_skips = 0
        if steps and skips / steps > self.max_skip_share:
            raise FloatingPointError(
                f'{skips} of the {steps} optimizer steps before iteration '
                f'{iteration} were skipped for non-finite loss or gradients, '
                f'more than optim_wrapper.max_skip_share='
                f'{self.max_skip_share}: stopping before validation.')


@OPTIM_WRAPPERS.register_module()
class FiniteAmpOptimWrapper(FiniteOptimWrapper, AmpOptimWrapper):
    """``AmpOptimWrapper`` (automatic mixed precision with a loss scaler)
    with the guarantees of :class:`FiniteOptimWrapper`.

    mmengine's ``AmpOptimWrapper`` already skips the optimizer step when
    the scaled gradients overflow and lowers the loss scale, but a forward
    pass that produced NaN or infinities has by then written them into the
    BatchNorm running statistics, and a run whose every step overflows
    keeps halving its loss scale without a word. Here the gradients are
    unscaled, then checked (with the loss, and across ranks) as in
    :class:`FiniteOptimWrapper`: a non-finite window is skipped with the
    normalisation statistics restored, counted against
    ``max_consecutive_skips`` and ``max_skip_share``, and logged with the
    new loss scale. The loss scale is updated after every window, skipped
    or not, as mmengine does. ``tools/train.py --amp`` selects it for a
    config whose wrapper is ``FiniteOptimWrapper``.

    In fp16 the dynamic loss scale starts high (65,536) and a few early
    steps overflow while it finds its level; these are skipped steps like
    any other, logged, and far below the default limits.

    Args:
        on_nonfinite, max_consecutive_skips, max_skip_share: as in
            :class:`FiniteOptimWrapper`.
        **kwargs: ``AmpOptimWrapper`` arguments (``loss_scale``, ``dtype``)
            and ``OptimWrapper`` arguments.
    """

    def _step_if_finite(self, step_kwargs: Dict) -> bool:
        self.loss_scaler.unscale_(self.optimizer)
        finite = self._window_is_finite()
        if finite:
            if self.clip_grad_kwargs:
                self._clip_grad()
            # Gradients are unscaled already: the scaler only steps.
            self.loss_scaler.step(self.optimizer, **step_kwargs)
        self.loss_scaler.update(self._scale_update_param)
        return finite

    def _skip_detail(self) -> str:
        if not self.loss_scaler.is_enabled():
            return ''
        return f'; loss scale now {self.loss_scaler.get_scale():g}'
