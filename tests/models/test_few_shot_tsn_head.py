# Copyright (c) mmfsar contributors. All rights reserved.
import torch
from mmaction.registry import MODELS

from mmfsar.testing import cached_episode_logits, random_episode_features


def naive_tsn(support, labels, query, num_ways, eps=0.01):
    """Per query and class: the mean over the class's shots of the cosine
    (eps on the norm product) between frame means, in float64."""
    num_episodes, num_query = query.shape[:2]
    logits = torch.zeros(
        num_episodes, num_query, num_ways, dtype=torch.float64)
    for e in range(num_episodes):
        for q in range(num_query):
            a = query[e, q].double().mean(0)
            for c in range(num_ways):
                sims = []
                for s in range(support.shape[1]):
                    if labels[e, s] == c:
                        b = support[e, s].double().mean(0)
                        sims.append(a @ b / (a.norm() * b.norm() + eps))
                logits[e, q, c] = sum(sims) / len(sims)
    return logits


def test_matches_naive_reference():
    head = MODELS.build(dict(type='FewShotTSNHead'))
    support, labels, query, ways = random_episode_features(
        num_frames=4, channels=5)
    logits = head(support.double(), labels, query.double(), ways)
    assert logits.shape == (2, 6, 3)
    expected = naive_tsn(support, labels, query, ways)
    assert torch.allclose(logits, expected, atol=1e-12)
    # A mean of similarities, not the similarity to a mean prototype.
    protos = torch.stack(
        [support[0, labels[0] == c].mean((0, 1)).double() for c in range(3)])
    a = query[0, 0].double().mean(0)
    to_protos = protos @ a / (protos.norm(dim=1) * a.norm() + 0.01)
    assert not torch.allclose(logits[0, 0], to_protos, atol=1e-3)


def test_invariances_and_cached_equals_forward():
    head = MODELS.build(dict(type='FewShotTSNHead'))
    support, labels, query, ways = random_episode_features(
        num_frames=4, channels=5)
    logits = head(support, labels, query, ways)
    perm = torch.tensor([4, 1, 5, 0, 3, 2])
    assert torch.allclose(
        head(support[:, perm], labels[:, perm], query, ways),
        logits,
        atol=1e-6)
    frames = torch.tensor([3, 1, 0, 2])
    assert torch.allclose(
        head(support[:, :, frames], labels, query[:, :, frames], ways),
        logits,
        atol=1e-6)
    assert head.eval().video_tokens(support[0])['mean'].shape == (6, 5)
    cached = cached_episode_logits(head, support, labels, query, ways)
    assert torch.allclose(cached, logits, atol=1e-6)
