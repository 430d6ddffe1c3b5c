# Copyright (c) mmfsar contributors. All rights reserved.
import math

import pytest
import torch
from mmaction.registry import MODELS

import mmfsar.models.heads.cross_transformer_head as ct_module
from mmfsar.testing import cached_episode_logits, random_episode_features


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='CrossTransformerHead', in_channels=6, hidden_channels=5)
    cfg.update(kwargs)
    return MODELS.build(cfg).eval()


def naive_cross_transformer(head, support, labels, query, num_ways):
    """The CrossTransformer logits written from the formulas, one query,
    class and frame at a time, in float64."""
    w_k = head.key_head.weight[..., 0].double()
    w_v = head.value_head.weight[..., 0].double()
    num_episodes, num_query, num_frames = query.shape[:3]
    logits = torch.zeros(
        num_episodes, num_query, num_ways, dtype=torch.float64)
    for e in range(num_episodes):
        for q in range(num_query):
            frames = query[e, q].double()
            for c in range(num_ways):
                support_frames = [
                    f.double() for s in range(support.shape[1])
                    if labels[e, s] == c for f in support[e, s]
                ]
                total = 0.0
                for t in range(num_frames):
                    qk = w_k @ frames[t]
                    scores = torch.stack([
                        qk @ (w_k @ f) / math.sqrt(len(qk))
                        for f in support_frames
                    ])
                    weights = scores.softmax(0)
                    proto = sum(w * (w_v @ f)
                                for w, f in zip(weights, support_frames))
                    qv = w_v @ frames[t]
                    total = total + qv @ proto / (qv.norm() * proto.norm())
                logits[e, q, c] = total / num_frames
    return logits


@pytest.mark.parametrize('shots', [1, 3])
def test_matches_naive_reference_for_any_shot(shots):
    # The way and shot come from the episode, the frame mean divides by T.
    head = build().double()
    support, labels, query, ways = random_episode_features(
        num_shots=shots, num_frames=5)
    logits = head(support.double(), labels, query.double(), ways)
    assert logits.shape == (2, ways * 2, ways)
    expected = naive_cross_transformer(head, support, labels, query, ways)
    assert torch.allclose(logits, expected, atol=1e-10)


def test_invariant_to_support_order_and_cached_equals_forward():
    head = build()
    support, labels, query, ways = random_episode_features(num_frames=5)
    logits = head(support, labels, query, ways)
    perm = torch.tensor([5, 2, 0, 4, 1, 3])
    assert torch.allclose(
        head(support[:, perm], labels[:, perm], query, ways),
        logits,
        atol=1e-6)
    tokens = head.video_tokens(support[0])
    assert tokens['keys'].shape == tokens['values'].shape == (6, 5, 5)
    cached = cached_episode_logits(head, support, labels, query, ways)
    assert torch.allclose(cached, logits, atol=1e-6)


def test_unequal_shots_are_refused():
    head = build()
    support, _, query, ways = random_episode_features(num_frames=5)
    labels = torch.tensor([[0, 0, 0, 1, 1, 2]] * 2)
    with pytest.raises(ValueError, match=r'same number of support videos'):
        head(support, labels, query, ways)


def test_loads_released_query_head_alias(monkeypatch):
    logged = []
    monkeypatch.setattr(ct_module, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    source = build()
    state = dict(source.state_dict())
    assert set(state) == {'key_head.weight', 'value_head.weight'}
    assert state['key_head.weight'].shape == (5, 6, 1)
    state['query_head.weight'] = state['key_head.weight'].clone()
    target = build()
    with torch.no_grad():
        target.key_head.weight.zero_()
    target.load_state_dict(state, strict=True)
    assert torch.equal(target.key_head.weight, source.key_head.weight)
    assert len(logged) == 1 and 'query_head' in logged[0]
    state['query_head.weight'] = state['query_head.weight'] + 1
    with pytest.raises(ValueError, match='query_head.weight differs'):
        target.load_state_dict(state, strict=True)
