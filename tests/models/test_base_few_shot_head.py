# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
import torch

from mmfsar.models.heads import episode_chunks, group_by_class


def test_group_by_class_keeps_shot_order_within_class():
    values = torch.arange(12).view(2, 6)
    labels = torch.tensor([[1, 0, 1, 2, 0, 2], [0, 0, 1, 1, 2, 2]])
    grouped = group_by_class(values, labels, 3)
    assert grouped.tolist() == [[[1, 4], [0, 2], [3, 5]],
                                [[6, 7], [8, 9], [10, 11]]]


def test_group_by_class_refuses_unequal_shots():
    labels = torch.tensor([[0, 0, 1, 2]])
    with pytest.raises(ValueError, match=r'\[\[2, 1, 1\]\] per class'):
        group_by_class(torch.zeros(1, 4), labels, 3)
    with pytest.raises(ValueError, match='same number'):
        group_by_class(torch.zeros(1, 4), torch.tensor([[0, 1, 0, 1]]), 3)


def test_episode_chunks_cover_all_episodes_within_budget():
    chunks = episode_chunks(10, 3, max_elements=7)
    assert chunks == [
        slice(0, 2),
        slice(2, 4),
        slice(4, 6),
        slice(6, 8),
        slice(8, 10)
    ]
    assert episode_chunks(5, 0) == [slice(0, 5)]
    # An episode over the budget still gets a chunk of its own.
    assert episode_chunks(2, 100, max_elements=7) == [slice(0, 1), slice(1, 2)]
