# Copyright (c) mmfsar contributors. All rights reserved.
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from ..rng import get_rng_state, set_rng_state


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make a resumed run continue with the random state it was saved with.

    mmengine re-seeds a resumed run from its seed, so dropout masks (and
    anything else drawn from the global generators) differ from the run that
    was not interrupted. This hook stores the ``random``, numpy and torch
    states in each checkpoint and restores them when training resumes, just
    before the first resumed iteration. Together with ``EpisodeSampler`` and
    ``EpisodicTestLoop`` (which leaves the random state untouched), a run
    resumed from a checkpoint at an accumulation boundary reaches the same
    weights as the uninterrupted run. Under ``diff_rank_seed`` the ranks'
    states differ and only rank 0's is saved.
    """
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('rng_state')

    def before_train_epoch(self, runner) -> None:
        if self._pending is None or runner.iter == 0:
            return
        set_rng_state(self._pending)
        self._pending = None
        print_log(
            f'Restored the random state saved at iteration {runner.iter}.',
            logger='current')
