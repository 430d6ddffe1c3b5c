# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Iterator, Optional, Sized

from mmaction.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class EpisodeSampler(Sampler):
    """Endless, rank-distinct episode indices for training.

    Rank ``r`` of ``W`` draws indices ``r, r + W, r + 2W, ...``, so no two
    ranks (and no two iterations) ever see the same training episode: a
    30,000-iteration run on 4 GPUs sees 120,000 different episodes. Because
    ``EpisodicDataset`` makes episode ``i`` a function of ``i`` alone, a
    resumed run can skip ahead with :meth:`set_start` instead of loading
    every episode it already trained on.

    Args:
        dataset (Sized): The episodic dataset (only for the runner's API).
        seed (int, optional): Unused; episodes are seeded by the dataset.
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None) -> None:
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.start = 0

    def set_start(self, num_consumed: int) -> None:
        """Continue after ``num_consumed`` indices of this rank."""
        self.start = int(num_consumed)

    def __iter__(self) -> Iterator[int]:
        step = self.start
        while True:
            yield step * self.world_size + self.rank
            step += 1

    def __len__(self) -> int:
        return len(self.dataset)
