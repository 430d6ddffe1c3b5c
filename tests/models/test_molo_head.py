# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from relation_reference import (bimhm, cosine, direct_and_cached_logits,
                                linear, position, transformer_layer)

from mmfsar.models.heads import MoLoHead

D, T, C, HW = 16, 4, 7, 2
SIZE = 32 * HW  # input frames of a stride-32 backbone


def build_head(**kwargs):
    torch.manual_seed(0)
    options = dict(
        in_channels=D,
        num_heads=4,
        ffn_channels=24,
        num_classes=C,
        position_a=3.,
        position_b=0.5,
        loss_class_weight=0.3,
        loss_contrastive_weight=0.2,
        loss_recons_weight=0.7)
    options.update(kwargs)
    head = MoLoHead(**options)
    if head.use_contrastive and isinstance(head.scale, torch.nn.Parameter):
        with torch.no_grad():
            head.scale.fill_(1.5)
            head.scale_motion.fill_(0.7)
    return head.eval()


def episode(num_ways=3, shots=2, queries=2, seed=1):
    """Spatial maps and frames of one episode (shuffled supports)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(num_ways).repeat(shots)
    labels = labels[torch.randperm(len(labels), generator=g)]
    qlabels = torch.arange(num_ways).repeat(queries)
    support = torch.randn(1, len(labels), T, D, HW, HW, generator=g)
    query = torch.randn(1, len(qlabels), T, D, HW, HW, generator=g)
    frames = [
        torch.randn(1, n, T, 3, SIZE, SIZE, generator=g)
        for n in (len(labels), len(qlabels))
    ]
    ids = torch.randperm(C, generator=g)[:num_ways]
    return support, labels[None], query, qlabels[None], ids, frames


def video_reference(head, maps):
    """Appearance tokens, motion tokens and motion maps of one video
    (T, D, h, w), from the formulas."""
    reduced = F.conv3d(
        maps.transpose(0, 1)[None],
        head.motion_reduce.weight,
        head.motion_reduce.bias,
        padding=1)[0].transpose(0, 1)
    motion = [
        F.conv2d(
            reduced[t + 1][None],
            head.motion_conv.weight,
            head.motion_conv.bias,
            padding=1)[0] - reduced[t] for t in range(T - 1)
    ]
    motion_feats = torch.stack([
        F.relu(F.conv2d(m[None], head.motion_up.weight,
                        head.motion_up.bias))[0].mean((1, 2)) for m in motion
    ])

    def stream(feats, token, layer):
        tokens = torch.cat([token[0], feats])
        tokens = position(tokens, head.position.position_a,
                          head.position.position_b)
        return F.relu(transformer_layer(tokens, layer))

    appearance = stream(
        maps.mean((2, 3)), head.class_token, head.appearance_encoder)
    motion_tokens = stream(motion_feats, head.class_token_motion,
                           head.motion_encoder)
    return appearance, motion_tokens, torch.stack(motion)


def class_means(videos, labels, num_ways):
    return [
        torch.stack([v for v, lbl in zip(videos, labels) if lbl == c]).mean(0)
        for c in range(num_ways)
    ]


def reference(head, support, labels, query, num_ways):
    s = [video_reference(head, v) for v in support[0]]
    q = [video_reference(head, v) for v in query[0]]
    labels = labels[0].tolist()
    protos = [
        class_means([v[i] for v in s], labels, num_ways) for i in range(2)
    ]
    logits, long_short = [], {}
    for qa, qm, _ in q:
        logits.append(
            torch.stack([
                -(bimhm(qa[1:], protos[0][c][1:], 0.01, head.single_direct) +
                  head.motion_logit_weight *
                  bimhm(qm[1:], protos[1][c][1:], 0.01, head.single_direct))
                for c in range(num_ways)
            ]))
        for name, tokens, scale, index in (('app', qa, head.scale, 0),
                                           ('motion', qm, head.scale_motion,
                                            1)):
            s2q = [
                -scale * sum(1 - cosine(p[t], tokens[0], 0.01)
                             for t in range(1, len(p))) for p in protos[index]
            ]
            q2s = [
                -scale * sum(1 - cosine(tokens[t], p[0], 0.01)
                             for t in range(1, len(tokens)))
                for p in protos[index]
            ]
            long_short.setdefault(name, []).append(
                (torch.cat(s2q), torch.cat(q2s)))
    return torch.stack(logits), s, q, long_short


def batchnorm_train(x, bn):
    mean = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    return ((x - mean) / torch.sqrt(var + bn.eps) * bn.weight[:, None, None] +
            bn.bias[:, None, None])


def decoder_reference(decoder, motion):
    """The released decoder: bilinear x2, x4, x4 (align_corners), then
    conv 3x3 -> BatchNorm with batch statistics -> ReLU, then a 1x1 conv."""
    x = motion
    for stage, factor in zip(decoder.stages, (2, 4, 4)):
        x = torch.nn.Upsample(
            scale_factor=factor, mode='bilinear', align_corners=True)(
                x)
        x = F.relu(
            batchnorm_train(F.conv2d(x, stage[0].weight, padding=1), stage[1]))
    return F.conv2d(x, decoder.out.weight, decoder.out.bias)


def test_logits_match_the_formulas():
    head = build_head()
    support, labels, query, _, _, _ = episode()
    with torch.no_grad():
        logits = head(support, labels, query, 3)
        expected = reference(head, support, labels, query, 3)[0]
        head.single_direct = True
        single = head(support, labels, query, 3)
        expected_single = reference(head, support, labels, query, 3)[0]
    assert logits.shape == (1, 6, 3)
    assert torch.allclose(logits[0], expected, atol=1e-5)
    assert torch.allclose(single[0], expected_single, atol=1e-5)
    assert not torch.allclose(single, logits, atol=1e-3)


def test_every_loss_term_matches_the_formulas():
    head = build_head()
    head.train()
    for module in head.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.
    support, labels, query, qlabels, ids, frames = episode()
    extra = dict(
        support_class_ids=ids[labels],
        query_class_ids=ids[qlabels],
        num_classes=C,
        support_inputs=frames[0],
        query_inputs=frames[1])
    losses = head.loss(support, labels, query, qlabels, 3, **extra)
    with torch.no_grad():
        logits, s, q, long_short = reference(head, support, labels, query, 3)
    assert set(losses) == {
        'loss_fsl', 'acc', 'loss_class', 'loss_contrastive', 'loss_recons'
    }
    y = qlabels[0]
    assert torch.allclose(
        losses['loss_fsl'], F.cross_entropy(logits, y), atol=1e-5)
    video_ids = torch.cat([ids[labels[0]], ids[qlabels[0]]])
    class_logits = torch.stack(
        [linear(a.mean(0) + m.mean(0), head.class_head) for a, m, _ in s + q])
    assert torch.allclose(
        losses['loss_class'],
        0.3 * F.cross_entropy(class_logits, video_ids),
        atol=1e-5)
    contrastive = sum(
        F.cross_entropy(
            torch.stack([pair[i] for pair in long_short[name]]), y)
        for name in ('app', 'motion') for i in range(2))
    assert torch.allclose(
        losses['loss_contrastive'], 0.2 * contrastive, atol=1e-5)
    # Supports then queries through the decoder in one batch; the target is
    # the difference of consecutive (preprocessed) frames.
    motion = torch.cat([m for _, _, m in s + q])
    target = torch.cat([
        video[1:] - video[:-1]
        for video in torch.cat([frames[0][0], frames[1][0]])
    ])
    with torch.no_grad():
        recons = decoder_reference(head.decoder, motion)
    assert torch.allclose(
        losses['loss_recons'], 0.7 * F.mse_loss(recons, target), atol=1e-5)


def test_switches_select_the_terms():
    support, labels, query, qlabels, ids, frames = episode()
    extra = dict(support_class_ids=ids[labels], query_class_ids=ids[qlabels])
    # Without USE_MOTION only the appearance long-short terms remain.
    head = build_head(use_motion=False, use_recons=False)
    assert not head.uses_inputs
    with torch.no_grad():
        losses = head.loss(support, labels, query, qlabels, 3, **extra)
        long_short = reference(head, support, labels, query, 3)[3]['app']
    assert set(losses) == {'loss_fsl', 'acc', 'loss_class', 'loss_contrastive'}
    expected = sum(
        F.cross_entropy(
            torch.stack([pair[i] for pair in long_short]), qlabels[0])
        for i in range(2))
    assert torch.allclose(
        losses['loss_contrastive'], 0.2 * expected, atol=1e-5)
    # TEMP_COFF: a fixed scale instead of learnable ones.
    fixed = build_head(temperature=2.5, use_recons=False)
    assert fixed.scale == fixed.scale_motion == 2.5
    assert not any('scale' in name for name, _ in fixed.named_parameters())
    bare = build_head(
        use_contrastive=False, use_recons=False, num_classes=None)
    assert set(bare.loss(support, labels, query, qlabels,
                         3)) == {'loss_fsl', 'acc'}
    with pytest.raises(ValueError, match='support_inputs'):
        build_head().loss(support, labels, query, qlabels, 3, **extra)


def test_cached_tokens_give_the_forward_logits():
    direct, cached, tokens = direct_and_cached_logits(
        build_head(), episode(), episode(seed=2), split=5)
    assert tokens['appearance'].shape == (24, T + 1, D)
    assert tokens['motion'].shape == (24, T, D)
    assert torch.allclose(cached, direct, atol=1e-5)


def test_support_order_does_not_change_logits_or_losses():
    head = build_head()
    head.train()
    for module in head.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.
    support, labels, query, qlabels, ids, frames = episode(shots=3)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(5))

    def losses(s, lbl, inputs):
        with torch.no_grad():
            return head.loss(
                s,
                lbl,
                query,
                qlabels,
                3,
                support_class_ids=ids[lbl],
                query_class_ids=ids[qlabels],
                support_inputs=inputs,
                query_inputs=frames[1])

    first = losses(support, labels, frames[0])
    permuted = losses(support[:, perm], labels[:, perm], frames[0][:, perm])
    for key in first:
        assert torch.allclose(first[key], permuted[key], atol=1e-5), key


def test_default_architecture_matches_released_code():
    head = MoLoHead(in_channels=2048, num_classes=64)
    # The released CNN_BiMHM_MoLo head without its backbone.
    assert sum(p.numel() for p in head.parameters()) == 66096597
    assert head.scale.item() == head.scale_motion.item() == 1.
    assert head.motion_reduce.out_channels == 256
    assert [s[0].out_channels for s in head.decoder.stages] == [128, 32, 16]
    assert head.appearance_encoder.attn.to_out[1].p == 0.2
    assert head.appearance_encoder.ffn[2].p == 0.05
    assert head.position.dropout.p == 0.1
    # Only the LayerNorms carry the names that the optimiser's "bn" /
    # "norm" rule exempts from weight decay: as released, the class tokens,
    # scales and decoder BatchNorms are decayed.
    exempt = {
        n
        for n, _ in head.named_parameters() if 'norm' in n or 'bn' in n
    }
    assert exempt == {
        f'{stream}_encoder.attn.norm.{p}'
        for stream in ('appearance', 'motion')
        for p in ('weight', 'bias')
    }
