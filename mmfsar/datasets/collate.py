# Copyright (c) mmfsar contributors. All rights reserved.
import pickle
from typing import List, Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from torch import Tensor


def _unstack(stacked: Tensor) -> List[Tensor]:
    return list(stacked.unbind(0))


class _StackedList(list):
    """A list of same-shape tensors that a dataloader worker sends to the
    main process as one stacked tensor.

    A worker hands every tensor over through its own shared-memory file
    descriptor, about 0.5 ms each; one per video was a fifth of a training
    iteration of the CPU demo. In the process that built it, it is the
    list itself.
    """

    def __reduce__(self):
        return _unstack, (torch.stack(list(self)), )


def stacked_in_transit(tensors: list) -> list:
    """``tensors`` as a list that crosses from a dataloader worker to the
    main process as one stacked tensor when they share shape and dtype
    (``_StackedList``); otherwise unchanged."""
    if tensors and all(
            isinstance(x, Tensor) and x.shape == tensors[0].shape
            and x.dtype == tensors[0].dtype for x in tensors):
        return _StackedList(tensors)
    return tensors


class _PickledList(list):
    """A list (of data samples) that a dataloader worker sends to the main
    process as one byte string, its small tensors (labels) copied rather
    than given a file descriptor each."""

    def __reduce__(self):
        return pickle.loads, (pickle.dumps(
            list(self), pickle.HIGHEST_PROTOCOL), )


@FUNCTIONS.register_module()
def episode_collate(data_batch: Sequence[list]) -> dict:
    """Flatten a batch of episodes into one batch of videos.

    Each item is the list of packed videos of one episode (support first,
    then query); the result is ``pseudo_collate`` of all of them, episodes
    one after another, which is what ``CLIPFSAR`` expects. Registered in
    mmengine's ``FUNCTIONS`` (mmaction's own function registry points at a
    module that does not exist).

    The lists cross from a dataloader worker to the main process as one
    stacked tensor (inputs of one shape) and one byte string (data samples)
    and arrive as plain lists: the same batch, a few file descriptors
    instead of two per video.
    """
    batch = pseudo_collate(
        [video for episode in data_batch for video in episode])
    if isinstance(batch.get('inputs'), list):
        batch['inputs'] = stacked_in_transit(batch['inputs'])
    if isinstance(batch.get('data_samples'), list):
        batch['data_samples'] = _PickledList(batch['data_samples'])
    return batch
