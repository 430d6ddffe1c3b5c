# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Iterator, Optional, Sized

from mmaction.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

STREAM_STRIDE = 1 << 32
"""Episode indices reserved for each seed's stream."""


@DATA_SAMPLERS.register_module()
class EpisodeSampler(Sampler):
    """Endless, rank-distinct episode indices for training.

    Rank ``r`` of ``W`` draws indices ``s + r, s + r + W, s + r + 2W, ...``,
    so no two ranks (and no two iterations) ever see the same training
    episode: a 30,000-iteration run on 4 GPUs sees 120,000 different
    episodes. ``s`` is the start of the seed's stream, ``seed * 2**32``
    (0 without a seed): the runner passes its ``randomness.seed`` (the
    ``--seed`` of ``tools/train.py``), so runs with different seeds train on
    different episodes, while ``EpisodicDataset.episode_seed`` decides what
    each index draws. Because ``EpisodicDataset`` makes episode ``i`` a
    function of ``i`` alone, a resumed run can skip ahead with
    :meth:`set_start` instead of loading every episode it already trained
    on.

    Args:
        dataset (Sized): The episodic dataset (only for the runner's API).
        seed (int, optional): The stream of episode indices, in
            ``[0, 2**31)``; mmengine's runner passes ``randomness.seed``
            (None under ``diff_rank_seed``). Defaults to None: stream 0.
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None) -> None:
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.seed = self._checked(seed)
        self.start = 0

    @staticmethod
    def _checked(seed: Optional[int]) -> Optional[int]:
        if seed is not None and not 0 <= int(seed) < 1 << 31:
            raise ValueError(f'EpisodeSampler: seed must be in [0, 2**31), '
                             f'got {seed!r}.')
        return None if seed is None else int(seed)

    @property
    def offset(self) -> int:
        """The first episode index of the seed's stream."""
        return (self.seed or 0) * STREAM_STRIDE

    def set_start(self, num_consumed: int, seed: Optional[int] = None) -> None:
        """Continue after ``num_consumed`` indices of this rank.

        Args:
            num_consumed (int): Indices this rank already used.
            seed (int, optional): The seed the resumed run restored from
                its checkpoint. The runner builds the sampler before it
                loads the checkpoint, so a run without a configured seed
                passes a new random one at construction; this puts the
                sampler back on the checkpoint's stream. Ignored when the
                sampler has no seed (``diff_rank_seed``). Defaults to None.
        """
        self.start = int(num_consumed)
        if seed is not None and self.seed is not None:
            self.seed = self._checked(seed)

    def __iter__(self) -> Iterator[int]:
        step, offset = self.start, self.offset
        while True:
            yield offset + step * self.world_size + self.rank
            step += 1

    def __len__(self) -> int:
        return len(self.dataset)
