# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Optional

from mmaction.registry import LOOPS
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from ..hooks.class_names_hook import ensure_class_names_hook
from .few_shot_runner import resolve_loop_dataloader


def unwrap_model(model):
    """The module inside a DDP (or other) model wrapper."""
    return model.module if is_model_wrapper(model) else model


def accumulative_counts_for(episodes_per_step: int, batch_size: int,
                            world_size: int) -> int:
    """Iterations to accumulate so that an optimizer step averages
    ``episodes_per_step`` episodes.

    Args:
        episodes_per_step (int): Episodes per optimizer step, over all
            processes.
        batch_size (int): Episodes per iteration of one process.
        world_size (int): Number of processes.

    Returns:
        int: ``episodes_per_step / (world_size * batch_size)``.
    """
    if not (isinstance(episodes_per_step, int) and episodes_per_step > 0):
        raise ValueError('train_cfg.episodes_per_step must be a positive '
                         f'int, got {episodes_per_step!r}')
    per_iteration = world_size * batch_size
    if episodes_per_step % per_iteration:
        raise ValueError(
            f'train_cfg.episodes_per_step={episodes_per_step} cannot be '
            f'split over {world_size} process(es) x {batch_size} episode(s) '
            f'per iteration ({per_iteration} episodes per iteration). Use a '
            f'number of processes that divides {episodes_per_step}, change '
            'train_cfg.episodes_per_step, or set '
            'optim_wrapper.accumulative_counts explicitly (each optimizer '
            f'step then averages accumulative_counts x {per_iteration} '
            'episodes).')
    return episodes_per_step // per_iteration


@LOOPS.register_module()
class EpisodicTrainLoop(IterBasedTrainLoop):
    """Iteration-based training on episodes.

    Differences from mmengine's ``IterBasedTrainLoop``:

    - on resume it skips the episodes already trained on by moving the
      ``EpisodeSampler`` forward, instead of loading every skipped batch.
      The resumed run draws exactly the episodes the uninterrupted run
      would have drawn;
    - ``episodes_per_step`` sets the effective batch: the optimizer
      wrapper accumulates ``episodes_per_step / (processes x batch_size)``
      iterations, and the log says so. A number of processes that does not
      divide it is refused, unless ``optim_wrapper.accumulative_counts`` is
      set explicitly in the config, which then wins;
    - at each validation point it asks a ``FiniteOptimWrapper`` whether too
      many optimizer steps since the last one were skipped.

    Args:
        episodes_per_step (int, optional): Episodes per optimizer step over
            all processes. Defaults to None: ``accumulative_counts``
            decides, as in mmengine.
        *args, **kwargs: ``IterBasedTrainLoop`` arguments.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 *args,
                 episodes_per_step: Optional[int] = None,
                 **kwargs) -> None:
        super().__init__(runner, resolve_loop_dataloader(runner, dataloader),
                         *args, **kwargs)
        self.episodes_per_step = episodes_per_step
        ensure_class_names_hook(self.runner)

    def _configure_accumulation(self) -> None:
        wrapper = self.runner.optim_wrapper
        batch_size, world_size = self.dataloader.batch_size, get_world_size()
        explicit = (self.runner.cfg.get('optim_wrapper')
                    or {}).get('accumulative_counts')
        if self.episodes_per_step is not None and explicit is None:
            if not hasattr(wrapper, '_accumulative_counts'):
                raise TypeError('train_cfg.episodes_per_step needs a single '
                                f'OptimWrapper, got {type(wrapper).__name__}')
            # OptimWrapper has no public setter; initialize_count_status
            # recomputes what depends on the count.
            wrapper._accumulative_counts = accumulative_counts_for(
                self.episodes_per_step, batch_size, world_size)
            wrapper.initialize_count_status(self.runner.model, self._iter,
                                            self._max_iters)
            source = f'train_cfg.episodes_per_step={self.episodes_per_step}'
        else:
            source = 'optim_wrapper.accumulative_counts'
            if self.episodes_per_step is not None:
                source += (', set explicitly: it overrides '
                           'train_cfg.episodes_per_step='
                           f'{self.episodes_per_step}')
        counts = getattr(wrapper, '_accumulative_counts', None)
        if counts is None:
            return
        steps = -(-self._max_iters // counts)
        print_log(
            f'{counts * batch_size * world_size} episodes per optimizer step '
            f'({source}) = {world_size} process(es) x {batch_size} '
            f'episode(s) per iteration x {counts} accumulated iteration(s); '
            f'{self._max_iters} iterations make {steps} optimizer steps.',
            logger='current')

    def _skip_trained_batches(self) -> None:
        sampler = getattr(self.dataloader, 'sampler', None)
        if hasattr(sampler, 'set_start'):
            # The runner built the sampler before it restored the seed.
            sampler.set_start(
                self._iter * self.dataloader.batch_size, seed=self.runner.seed)
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
        self._configure_accumulation()
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
            if not (self._iter % self.val_interval == 0
                    or self._iter == self._max_iters):
                continue
            if hasattr(self.runner.optim_wrapper, 'check_skip_share'):
                self.runner.optim_wrapper.check_skip_share(self._iter)
            if (self.runner.val_loop is not None
                    and self._iter >= self.val_begin):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
