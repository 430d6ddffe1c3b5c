# Copyright (c) mmfsar contributors. All rights reserved.
import torch
from mmaction.registry import MODELS

from mmfsar.models.utils import otam_distance_reference
from mmfsar.testing import cached_episode_logits, random_episode_features


def naive_otam_head(support, labels, query, num_ways, lbda=0.1):
    """Per query and class: minus the mean over the class's shots of the
    summed two-way cell-by-cell OTAM of ``1 - cos`` (eps 0.01 on the norm
    product), in float64."""
    num_episodes, num_query = query.shape[:2]
    logits = torch.zeros(
        num_episodes, num_query, num_ways, dtype=torch.float64)
    for e in range(num_episodes):
        for q in range(num_query):
            a = query[e, q].double()
            for c in range(num_ways):
                dists = []
                for s in range(support.shape[1]):
                    if labels[e, s] == c:
                        b = support[e, s].double()
                        cos = (a @ b.T) / (
                            a.norm(dim=1)[:, None] * b.norm(dim=1) + 0.01)
                        dists.append(
                            otam_distance_reference(1 - cos, lbda, True))
                logits[e, q, c] = -sum(dists) / len(dists)
    return logits


def test_released_temperature_and_mean_of_distances():
    head = MODELS.build(dict(type='OTAMHead'))
    assert head.lbda == 0.1 and head.bidirectional and head.eps == 0.01
    support, labels, query, ways = random_episode_features(
        num_frames=5, channels=7, nonnegative=True)
    logits = head(support.double(), labels, query.double(), ways)
    assert logits.shape == (2, 6, 3)
    assert torch.allclose(
        logits, naive_otam_head(support, labels, query, ways), atol=1e-10)
    assert not torch.allclose(
        logits,
        naive_otam_head(support, labels, query, ways, lbda=0.5),
        atol=1e-3)


def test_support_order_and_cached_equals_forward():
    head = MODELS.build(dict(type='OTAMHead')).eval()
    support, labels, query, ways = random_episode_features(
        num_frames=5, channels=7, nonnegative=True)
    logits = head(support, labels, query, ways)
    perm = torch.tensor([2, 5, 1, 0, 4, 3])
    assert torch.allclose(
        head(support[:, perm], labels[:, perm], query, ways),
        logits,
        atol=1e-6)
    cached = cached_episode_logits(head, support, labels, query, ways)
    assert torch.equal(cached, logits)
