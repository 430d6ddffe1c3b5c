# Copyright (c) mmfsar contributors. All rights reserved.
import torch
from mmaction.registry import OPTIM_WRAPPERS
from mmengine.logging import MessageHub, print_log
from mmengine.optim import OptimWrapper


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` that never applies a non-finite update.

    A NaN or Inf loss is reported with its iteration. With
    ``on_nonfinite='skip'`` (the released code's behaviour) the loss is still
    back-propagated, so that distributed ranks stay in step, and the optimizer
    step that would include its gradients is skipped on every rank (the
    all-reduced gradients are non-finite everywhere); with ``'raise'`` the run
    stops with ``FloatingPointError``.

    Args:
        on_nonfinite (str): ``'skip'`` or ``'raise'``. Defaults to
            ``'skip'``.
        **kwargs: ``OptimWrapper`` arguments.
    """

    def __init__(self, *args, on_nonfinite: str = 'skip', **kwargs) -> None:
        if on_nonfinite not in ('skip', 'raise'):
            raise ValueError("optim_wrapper.on_nonfinite must be 'skip' or "
                             f"'raise', got {on_nonfinite!r}")
        super().__init__(*args, **kwargs)
        self.on_nonfinite = on_nonfinite
        self.num_skipped = 0

    @staticmethod
    def _iteration() -> int:
        return MessageHub.get_current_instance().get_info('iter', -1)

    def update_params(self, loss: torch.Tensor, *args, **kwargs) -> None:
        if not torch.isfinite(loss.detach()).all():
            message = (f'Non-finite loss {loss.item()} at iteration '
                       f'{self._iteration()}')
            if self.on_nonfinite == 'raise':
                raise FloatingPointError(
                    message + " (optim_wrapper.on_nonfinite='raise').")
            print_log(
                message + '; its optimizer step will be skipped.',
                logger='current',
                level=30)
        super().update_params(loss, *args, **kwargs)

    def step(self, **kwargs) -> None:
        grads = [
            p.grad for group in self.optimizer.param_groups
            for p in group['params'] if p.grad is not None
        ]
        # One device-to-host sync for all gradients.
        finite = not grads or bool(
            torch.stack([torch.isfinite(g).all() for g in grads]).all())
        if finite:
            super().step(**kwargs)
            return
        if self.on_nonfinite == 'raise':
            raise FloatingPointError(
                f'Non-finite gradients at iteration {self._iteration()}.')
        self.num_skipped += 1
        print_log(
            f'Skipped the optimizer step at iteration {self._iteration()}: '
            f'non-finite gradients ({self.num_skipped} skipped so far).',
            logger='current',
            level=30)
