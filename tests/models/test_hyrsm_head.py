# Copyright (c) mmfsar contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F
from relation_reference import (bimhm, cosine, direct_and_cached_logits,
                                linear, position, postnorm_mha,
                                prenorm_attention)

from mmfsar.models.heads import (HyRSMHead, temporal_coherence_loss,
                                 temporal_coherence_targets)

D, T, C = 16, 5, 7


def build_head(relation_set='videos', **kwargs):
    torch.manual_seed(0)
    options = dict(
        in_channels=D,
        num_heads=4,
        num_classes=C,
        position_a=3.,
        position_b=0.5,
        window_size=1,
        temporal_balance=5.,
        balance_coefficient=2.)
    options.update(kwargs)
    return HyRSMHead(relation_set=relation_set, **options).eval()


def episode(num_ways=3, shots=2, queries=2, seed=1):
    """One episode with a shuffled support order, and class ids."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_ways).repeat(shots)
    labels = labels[torch.randperm(len(labels), generator=g)]
    qlabels = torch.arange(num_ways).repeat(queries)
    support = torch.randn(1, len(labels), T, D, generator=g)
    query = torch.randn(1, len(qlabels), T, D, generator=g)
    ids = torch.randperm(C, generator=g)[:num_ways]
    return support, labels[None], query, qlabels[None], ids


def reference(head, support, labels, query, num_ways):
    """Logits of one episode and its final member / query frames, from the
    formulas, one video or one query at a time."""

    def encode(video):
        x = position(video, head.position.position_a, head.position.position_b)
        return F.relu(prenorm_attention(x, head.intra_relation))

    h_s = [encode(v) for v in support[0]]
    h_q = [encode(v) for v in query[0]]
    labels = labels[0].tolist()
    if head.relation_set == 'videos':
        members, owner = h_s, labels
    else:
        members = [
            torch.stack([h for h, lbl in zip(h_s, labels) if lbl == c]).mean(0)
            for c in range(num_ways)
        ]
        owner = list(range(num_ways))
    logits, all_members, all_queries = [], [], []
    for h in h_q:
        tokens = torch.stack([m.mean(0) for m in members] + [h.mean(0)])
        tokens = F.relu(postnorm_mha(tokens, head.inter_relation))
        fused = [
            linear(torch.cat([m, tokens[i].expand_as(m)], -1), head.fuse)
            for i, m in enumerate(members)
        ]
        fq = linear(torch.cat([h, tokens[-1].expand_as(h)], -1), head.fuse)
        dists = [bimhm(fq, m) for m in fused]
        logits.append(
            torch.stack([
                -torch.stack([d
                              for d, o in zip(dists, owner) if o == c]).mean()
                for c in range(num_ways)
            ]))
        all_members += fused
        all_queries.append(fq)
    return torch.stack(logits), h_s + h_q, all_members, all_queries


def coherence_reference(videos, window, balance, beta):
    """Mean over videos and frame pairs of L R D + beta (1 - L) relu(R - D)."""
    terms = []
    for frames in videos:
        for i in range(len(frames)):
            for j in range(len(frames)):
                dist = 1 - cosine(frames[i], frames[j])
                offset = abs(i - j)
                if offset <= window:
                    terms.append(dist / (offset**2 + 1))
                else:
                    target = 1 - math.exp(-(offset - window)**2 / balance)
                    terms.append(beta * F.relu(target - dist))
    return torch.stack(terms).mean()


@pytest.mark.parametrize('relation_set', ['videos', 'prototypes'])
def test_logits_match_the_formulas(relation_set):
    head = build_head(relation_set)
    support, labels, query, _, _ = episode()
    with torch.no_grad():
        logits = head(support, labels, query, 3)
        expected = reference(head, support, labels, query, 3)[0]
    assert logits.shape == (1, 6, 3)
    assert torch.allclose(logits[0], expected, atol=1e-4)


@pytest.mark.parametrize('relation_set', ['videos', 'prototypes'])
def test_every_loss_term_matches_the_formulas(relation_set):
    head = build_head(
        relation_set, loss_class_weight=0.3, loss_temporal_weight=0.7)
    support, labels, query, qlabels, ids = episode()
    extra = dict(
        support_class_ids=ids[labels],
        query_class_ids=ids[qlabels],
        num_classes=C)
    with torch.no_grad():
        losses = head.loss(support, labels, query, qlabels, 3, **extra)
        logits, frames, members, queries = reference(head, support, labels,
                                                     query, 3)
    assert set(losses) == {'loss_fsl', 'acc', 'loss_class', 'loss_temporal'}
    assert torch.allclose(
        losses['loss_fsl'], F.cross_entropy(logits, qlabels[0]), atol=1e-5)
    video_ids = torch.cat([ids[labels[0]], ids[qlabels[0]]])
    frame_ce = torch.stack([
        F.cross_entropy(
            linear(frames[v][t], head.class_head)[None], video_ids[v:v + 1])
        for v in range(len(frames)) for t in range(T)
    ]).mean()
    assert torch.allclose(losses['loss_class'], 0.3 * frame_ce, atol=1e-5)
    coherence = (
        coherence_reference(members, 1, 5., 2.) +
        coherence_reference(queries, 1, 5., 2.))
    assert torch.allclose(losses['loss_temporal'], 0.7 * coherence, atol=1e-5)
    assert losses['acc'] == (logits.argmax(-1) == qlabels[0]).float().mean()


def test_terms_switch_off_and_class_count_is_checked():
    support, labels, query, qlabels, ids = episode()
    extra = dict(support_class_ids=ids[labels], query_class_ids=ids[qlabels])
    hyrsm_v1 = build_head(loss_temporal_weight=0.)
    assert set(hyrsm_v1.loss(support, labels, query, qlabels, 3, **extra)) \
        == {'loss_fsl', 'acc', 'loss_class'}
    no_classifier = build_head(num_classes=None)
    assert no_classifier.class_head is None
    assert set(no_classifier.loss(support, labels, query, qlabels,
                                  3)) == {'loss_fsl', 'acc', 'loss_temporal'}
    with pytest.raises(
            ValueError,
            match='model.head.num_classes=7 but the '
            'training split has 9 classes'):
        build_head().loss(
            support, labels, query, qlabels, 3, num_classes=9, **extra)
    with pytest.raises(ValueError, match='relation_set'):
        build_head('frames')


def test_coherence_targets_have_the_released_values():
    # Offsets 0..7 of the released settings (Wn 1, tau 51 and Wn 3,
    # tau 23), from R = 1 / (o^2 + 1) inside the window and
    # 1 - exp(-(o - Wn)^2 / tau) outside it.
    for window, balance, row in [
        (1, 51., [1, 0.5, 0.0194, 0.0754, 0.1618, 0.2693, 0.3875, 0.5063]),
        (3, 23., [1, 0.5, 0.2, 0.1, 0.0425, 0.1596, 0.3238, 0.5013]),
    ]:
        targets, inside = temporal_coherence_targets(8, window, balance)
        assert torch.allclose(targets[0], torch.tensor(row), atol=1e-4)
        assert torch.equal(targets, targets.T)
        assert inside[0].tolist() == [1.] * (window + 1) + [0.] * (7 - window)
    frames = torch.randn(3, 8, 4)
    assert torch.allclose(
        temporal_coherence_loss(frames, 1, 51., 20.),
        coherence_reference(frames, 1, 51., 20.),
        atol=1e-6)


@pytest.mark.parametrize('relation_set', ['videos', 'prototypes'])
def test_cached_tokens_give_the_forward_logits(relation_set):
    direct, cached, tokens = direct_and_cached_logits(
        build_head(relation_set), episode(), episode(seed=2), split=7)
    assert tokens['frames'].shape == (24, T, D)
    assert torch.allclose(cached, direct, atol=1e-5)


def test_prototype_set_equals_video_set_at_one_shot():
    support, labels, query, _, _ = episode(shots=1)
    with torch.no_grad():
        videos = build_head('videos')(support, labels, query, 3)
        protos = build_head('prototypes')(support, labels, query, 3)
    assert torch.allclose(videos, protos, atol=1e-5)


@pytest.mark.parametrize('relation_set', ['videos', 'prototypes'])
def test_support_order_does_not_change_the_logits(relation_set):
    # As released: the set relation has no position code across videos,
    # so permuting the supports permutes their set tokens.
    head = build_head(relation_set)
    support, labels, query, _, _ = episode(shots=3)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        first = head(support, labels, query, 3)
        permuted = head(support[:, perm], labels[:, perm], query, 3)
    assert torch.allclose(first, permuted, atol=1e-5)
    assert torch.equal(first, head(support, labels, query, 3))


def test_default_architecture_matches_released_code():
    head = HyRSMHead(in_channels=2048, num_classes=64)
    # The released CNN_HyRSM_plusplus_1shot head without its backbone.
    assert sum(p.numel() for p in head.parameters()) == 42088512
    assert head.intra_relation.to_out[1].p == 0.2
    assert head.inter_relation.attn_drop == 0.1
    assert head.inter_relation.dropout.p == 0.05
    assert head.position.dropout.p == 0.1
    assert head.position.position_a == 10. and head.position.position_b == 1.
    # No parameter name the optimiser's "bn" / "norm" rule would exempt
    # from weight decay, except the two LayerNorms.
    exempt = {
        n
        for n, _ in head.named_parameters() if 'norm' in n or 'bn' in n
    }
    assert exempt == {
        'intra_relation.norm.weight', 'intra_relation.norm.bias',
        'inter_relation.layer_norm.weight', 'inter_relation.layer_norm.bias'
    }
