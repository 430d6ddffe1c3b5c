# Copyright (c) mmfsar contributors. All rights reserved.
from mmaction.registry import LOOPS
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from ..hooks.class_names_hook import ensure_class_names_hook


def unwrap_model(model):
    """The module inside a DDP (or other) model wrapper."""
    return model.module if is_model_wrapper(model) else model


@LOOPS.register_module()
class EpisodicTrainLoop(IterBasedTrainLoop):
    """Iteration-based training on episodes.

    One difference from mmengine's ``IterBasedTrainLoop``: on resume it
    skips the episodes already trained on by moving the ``EpisodeSampler``
    forward, instead of loading every skipped batch. The resumed run draws
    exactly the episodes the uninterrupted run would have drawn.
    """

    def __init__(self, runner, *args, **kwargs) -> None:
        super().__init__(runner, *args, **kwargs)
        ensure_class_names_hook(runner)

    def _skip_trained_batches(self) -> None:
        sampler = getattr(self.dataloader, 'sampler', None)
        if hasattr(sampler, 'set_start'):
            sampler.set_start(self._iter * self.dataloader.batch_size)
            self.dataloader_iterator = _InfiniteDataloaderIterator(
                self.dataloader)
            print_log(
                f'Resumed at iteration {self._iter}: the episode sampler '
                'continues after the episodes already trained on.',
                logger='current')
            return
        print_log(
            f'Advance dataloader {self._iter} steps to skip data that has '
            'already been trained',
            logger='current')
        for _ in range(self._iter):
            next(self.dataloader_iterator)

    def run(self):
        """Launch training."""
        if self._iter > 0:
            # Before the hooks, so that RandomStateHook restores the saved
            # random state after the new dataloader iterator drew its seed.
            self._skip_trained_batches()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0
                         or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
