# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Sequence

from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS


@FUNCTIONS.register_module()
def episode_collate(data_batch: Sequence[list]) -> dict:
    """Flatten a batch of episodes into one batch of videos.

    Each item is the list of packed videos of one episode (support first,
    then query); the result is ``pseudo_collate`` of all of them, episodes
    one after another, which is what ``CLIPFSAR`` expects. Registered in
    mmengine's ``FUNCTIONS`` (mmaction's own function registry points at a
    module that does not exist).
    """
    return pseudo_collate(
        [video for episode in data_batch for video in episode])
