# Copyright (c) mmfsar contributors. All rights reserved.
import math
from itertools import combinations

import pytest
import torch
from mmaction.registry import MODELS

import mmfsar.models.heads.trx_head as trx_module
from mmfsar.models import TRXHead
from mmfsar.testing import cached_episode_logits, random_episode_features


def build(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='TRXHead', in_channels=6, num_frames=4, proj_channels=5)
    cfg.update(kwargs)
    return MODELS.build(cfg).eval()


def reference_pe(num_frames, channels, scale=0.1):
    """pe[t, 2i] = sin(t / 10000^(2i/D)), pe[t, 2i+1] = cos(same), times
    ``scale``."""
    pe = torch.zeros(num_frames, channels, dtype=torch.float64)
    for t in range(num_frames):
        for i in range(0, channels, 2):
            angle = t / 10000**(i / channels)
            pe[t, i] = math.sin(angle) * scale
            if i + 1 < channels:
                pe[t, i + 1] = math.cos(angle) * scale
    return pe


def naive_trx(head, support, labels, query, num_ways):
    """TRX in eval mode written from its formulas, one query, class and
    tuple at a time, in float64."""
    num_episodes, num_query, num_frames, channels = query.shape
    pe = reference_pe(num_frames, channels)
    logits = torch.zeros(
        num_episodes, num_query, num_ways, dtype=torch.float64)
    for module in head.transformers:
        tuples = list(combinations(range(num_frames), module.cardinality))
        k_w, k_b = module.k_linear.weight.double(
        ), module.k_linear.bias.double()
        v_w, v_b = module.v_linear.weight.double(
        ), module.v_linear.bias.double()
        ln_w, ln_b = module.norm_k.weight.double(), module.norm_k.bias.double()

        def key(x):
            y = k_w @ x + k_b
            y = (y - y.mean()) / torch.sqrt(y.var(unbiased=False) + 1e-5)
            return y * ln_w + ln_b

        def tuple_reps(video):
            x = video.double() + pe
            return [torch.cat([x[f] for f in tup]) for tup in tuples]

        for e in range(num_episodes):
            for q in range(num_query):
                q_reps = tuple_reps(query[e, q])
                for c in range(num_ways):
                    s_reps = [
                        r for s in range(support.shape[1]) if labels[e, s] == c
                        for r in tuple_reps(support[e, s])
                    ]
                    s_keys = [key(r) for r in s_reps]
                    s_values = [v_w @ r + v_b for r in s_reps]
                    dist = 0.0
                    for rep in q_reps:
                        qk = key(rep)
                        scores = torch.stack(
                            [qk @ sk / math.sqrt(len(qk)) for sk in s_keys])
                        weights = scores.softmax(0)
                        proto = sum(w * v for w, v in zip(weights, s_values))
                        dist = dist + ((v_w @ rep + v_b) - proto).pow(2).sum()
                    logits[e, q, c] += -dist / len(tuples)
    return logits / len(head.transformers)


@pytest.mark.parametrize('shots', [1, 2])
def test_matches_naive_reference(shots):
    head = build().double()
    support, labels, query, ways = random_episode_features(num_shots=shots)
    logits = head(support.double(), labels, query.double(), ways)
    assert logits.shape == (2, ways * 2, ways)
    expected = naive_trx(head, support, labels, query, ways)
    assert torch.allclose(logits, expected, atol=1e-10)


def test_single_cardinality_and_other_sizes():
    head = build(cardinalities=(3, ), num_frames=5, in_channels=4).double()
    support, labels, query, ways = random_episode_features(
        1, 2, 1, 1, num_frames=5, channels=4)
    assert len(head.transformers[0].tuples) == 10
    expected = naive_trx(head, support, labels, query, ways)
    assert torch.allclose(
        head(support.double(), labels, query.double(), ways),
        expected,
        atol=1e-10)


def test_invariant_to_support_order():
    head = build()
    support, labels, query, ways = random_episode_features()
    logits = head(support, labels, query, ways)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    shuffled = head(support[:, perm], labels[:, perm], query, ways)
    assert torch.allclose(logits, shuffled, atol=1e-5)


def test_cached_tokens_give_forward_logits_in_chunks(monkeypatch):
    head = build()
    support, labels, query, ways = random_episode_features(num_episodes=3)
    logits = head(support, labels, query, ways)
    tokens = head.video_tokens(support[0])
    assert {
        k: tuple(v.shape)
        for k, v in tokens.items()
    } == {
        'keys0': (6, 6, 5),
        'values0': (6, 6, 5),
        'keys1': (6, 4, 5),
        'values1': (6, 4, 5)
    }
    cached = cached_episode_logits(head, support, labels, query, ways)
    assert torch.allclose(cached, logits, atol=1e-6)
    # One episode per chunk gives the same logits.
    monkeypatch.setattr(head, 'elements_per_episode', lambda *a: 2**26)
    assert torch.allclose(
        cached_episode_logits(head, support, labels, query, ways),
        cached,
        atol=1e-6)
    assert torch.allclose(
        head(support, labels, query, ways), logits, atol=1e-6)


def test_training_mode_uses_dropout_and_refuses_tokens():
    head = build(dropout=0.5)
    support, labels, query, ways = random_episode_features()
    head.train()
    assert not torch.allclose(
        head(support, labels, query, ways), head(support, labels, query, ways))
    with pytest.raises(RuntimeError, match='for evaluation'):
        head.video_tokens(support[0])


def test_wrong_number_of_frames_is_refused():
    head = build()
    with pytest.raises(ValueError, match=r'head.num_frames'):
        head(
            torch.randn(1, 3, 5, 6),
            torch.arange(3)[None], torch.randn(1, 3, 5, 6), 3)
    with pytest.raises(ValueError, match='cardinalities'):
        TRXHead(in_channels=6, num_frames=2, cardinalities=(2, 3))


def released_state(head, num_frames, pe_scale=0.1):
    """The head's weights in the released layout: an unused norm_v, tuples
    saved as tensors, positional encodings of 1.5 T rows."""
    state = dict(head.state_dict())
    for i, module in enumerate(head.transformers):
        channels = module.k_linear.out_features
        state[f'transformers.{i}.norm_v.weight'] = torch.randn(channels)
        state[f'transformers.{i}.norm_v.bias'] = torch.randn(channels)
        tuples = combinations(range(num_frames), module.cardinality)
        for j, tup in enumerate(tuples):
            state[f'transformers.{i}.tuples.{j}'] = torch.tensor(tup)
        pe = reference_pe(int(num_frames * 1.5), 6, pe_scale).float()
        state[f'transformers.{i}.pe.pe'] = pe[None]
    return state


def test_no_unused_or_recomputed_state_is_saved():
    head = build()
    assert not any('norm_v' in k for k in head.state_dict())
    assert set(head.state_dict()) == {
        f'transformers.{i}.{name}.{p}'
        for i in range(2)
        for name in ('k_linear', 'v_linear', 'norm_k')
        for p in ('weight', 'bias')
    }


def test_loads_released_layout_and_logs_ignored_keys(monkeypatch):
    logged = []
    monkeypatch.setattr(trx_module, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    source = build()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(torch.randn_like(p))
    target = build()
    target.load_state_dict(released_state(source, 4), strict=True)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    assert len(logged) == 2 and 'norm_v' in logged[0]


def test_released_layout_of_other_frames_or_encoding_is_refused():
    head = build()
    state = released_state(build(num_frames=5), 5)
    with pytest.raises(ValueError, match='tuples.*head.num_frames'):
        head.load_state_dict(state, strict=True)
    state = released_state(head, 4, pe_scale=0.2)
    with pytest.raises(ValueError, match='pe.pe.*head.pe_scale'):
        head.load_state_dict(state, strict=True)
