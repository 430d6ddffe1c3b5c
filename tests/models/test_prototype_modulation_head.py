# Copyright (c) mmfsar contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from mmfsar.models import PrototypeModulationHead
from mmfsar.models.utils import otam_distance_reference
from mmfsar.testing import cached_episode_logits, random_episode_features


def manual_layer(layer, x):
    """One Transformer_v1 block written out from docs/method.md (eval mode)."""
    y = F.layer_norm(x, x.shape[-1:], layer.norm.weight, layer.norm.bias)
    q, k, v = (
        y @ lin.weight.T for lin in (layer.to_q, layer.to_k, layer.to_v))
    heads = layer.num_heads
    dim = x.shape[-1] // heads
    out = []
    for h in range(heads):
        sl = slice(h * dim, (h + 1) * dim)
        att = (q[..., sl] @ k[..., sl].transpose(-1, -2)) / math.sqrt(dim)
        out.append(att.softmax(-1) @ v[..., sl])
    x = torch.cat(out, -1) @ layer.to_out[0].weight.T + \
        layer.to_out[0].bias + x
    ffn1, ffn2 = layer.ffn[0], layer.ffn[3]
    hidden = F.gelu(x @ ffn1.weight.T + ffn1.bias)
    return hidden @ ffn2.weight.T + ffn2.bias + x


def build_head(merge_before):
    torch.manual_seed(0)
    head = PrototypeModulationHead(
        in_channels=16,
        num_heads=4,
        ffn_channels=24,
        merge_before=merge_before)
    return head.eval()


def tiny_episode():
    torch.manual_seed(1)
    n, k, t, d = 2, 3, 4, 16
    support = torch.randn(1, n * k, t, d)
    labels = torch.tensor([[0, 1, 0, 1, 1, 0]])
    class_text = torch.randn(n, d)
    text = class_text[labels]  # the same text token for a class's shots
    return support, labels, text, n


def test_merge_after_modulation_matches_hand_computation():
    head = build_head(merge_before=False)
    support, labels, text, n = tiny_episode()
    protos = head.prototypes(support, labels, text, n)
    layer = head.layers[0]
    for c in range(n):
        outs = [
            manual_layer(layer, torch.cat([support[0, i],
                                           text[0,
                                                i:i + 1]]))[:support.shape[2]]
            for i in range(6) if labels[0, i] == c
        ]
        expected = torch.stack(outs).mean(0)
        assert torch.allclose(protos[0, c], expected, atol=1e-5)


def test_merge_before_modulation_matches_hand_computation():
    head = build_head(merge_before=True)
    support, labels, text, n = tiny_episode()
    protos = head.prototypes(support, labels, text, n)
    layer = head.layers[0]
    for c in range(n):
        mask = labels[0] == c
        tokens = torch.cat(
            [support[0, mask].mean(0), text[0, mask].mean(0, keepdim=True)])
        expected = manual_layer(layer, tokens)[:support.shape[2]]
        assert torch.allclose(protos[0, c], expected, atol=1e-5)


def test_merge_before_and_after_differ_for_several_shots():
    support, labels, text, n = tiny_episode()
    after = build_head(False).prototypes(support, labels, text, n)
    before = build_head(True).prototypes(support, labels, text, n)
    assert not torch.allclose(after, before, atol=1e-4)


def test_queries_have_no_text_token_and_no_positional_encoding():
    head = build_head(False)
    frames = torch.randn(3, 5, 16)
    out = head.modulate(frames)
    assert torch.allclose(
        out[1], manual_layer(head.layers[0], frames[1]), atol=1e-5)
    # Without positional encoding, permuting frames permutes the output.
    perm = torch.tensor([4, 2, 0, 1, 3])
    assert torch.allclose(
        head.modulate(frames[:, perm]), out[:, perm], atol=1e-5)


def test_logits_are_minus_otam_of_modulated_queries_and_prototypes():
    head = build_head(False)
    e, n, k, q, t, d = 2, 5, 1, 3, 8, 16
    support = torch.randn(e, n * k, t, d)
    labels = torch.arange(n).repeat(e, 1)
    query = torch.randn(e, n * q, t, d)
    text = torch.randn(e, n * k, d)
    logits = head(support, labels, query, n, support_text=text)
    assert logits.shape == (e, n * q, n)
    protos = head.prototypes(support, labels, text, n)
    queries = head.modulate(query)
    for i, j, c in [(0, 0, 0), (1, 7, 3), (1, 14, 4)]:
        a, b = queries[i, j], protos[i, c]
        sims = (a @ b.T) / (a.norm(dim=-1)[:, None] * b.norm(dim=-1) + 0.01)
        expected = -otam_distance_reference(1 - sims, lbda=0.5)
        assert torch.allclose(logits[i, j, c], expected, atol=1e-5)
    # logit_scale multiplies the metric's logits.
    head.logit_scale = 3.0
    scaled = head(support, labels, query, n, support_text=text)
    assert torch.allclose(scaled, 3 * logits, atol=1e-5)


def test_head_is_stateless():
    head = build_head(False)
    support, labels, text, n = tiny_episode()
    query = torch.randn(1, 4, 4, 16)
    first = head(support, labels, query, n, support_text=text)
    head(
        torch.randn_like(support),
        labels,
        torch.randn_like(query),
        n,
        support_text=text)
    assert torch.equal(first,
                       head(support, labels, query, n, support_text=text))


def test_default_architecture_matches_released_code():
    head = PrototypeModulationHead(in_channels=1024)
    assert len(head.layers) == 1
    layer = head.layers[0]
    assert layer.num_heads == 8
    assert layer.to_q.bias is None and layer.to_out[0].bias is not None
    assert layer.ffn[0].out_features == 2048
    assert layer.to_out[1].p == 0.2 and layer.ffn[2].p == 0.05
    # docs/method.md: about 8.4M parameters for D = 1024.
    assert sum(p.numel() for p in head.parameters()) == 8394752


METRICS = [
    dict(type='OTAMHead', lbda=0.5),
    dict(type='FewShotTSNHead'),
    dict(type='TRXHead', in_channels=16, num_frames=4, proj_channels=12),
    dict(type='CrossTransformerHead', in_channels=16, hidden_channels=8),
]


@pytest.mark.parametrize('merge_before', [False, True])
@pytest.mark.parametrize('metric', METRICS, ids=lambda m: m['type'])
def test_modulation_on_any_metric_trains_and_caches(metric, merge_before):
    torch.manual_seed(0)
    head = PrototypeModulationHead(
        in_channels=16,
        num_heads=4,
        ffn_channels=24,
        merge_before=merge_before,
        metric=metric)
    e, n, q, d = 2, 3, 2, 16
    support, labels, query, _ = random_episode_features(
        e, n, 2, q, num_frames=4, channels=d)
    query_labels = torch.arange(n).repeat(e, q)
    class_text = torch.randn(e, n, d)

    def text_of(episode_labels):
        return torch.gather(class_text, 1,
                            episode_labels[..., None].expand(-1, -1, d))

    text = text_of(labels)

    # One training step: gradients reach the modulation and the metric,
    # and a small step on the same episodes lowers their loss (dropout
    # off, so that the two losses are comparable).
    head.eval()
    optim = torch.optim.SGD(head.parameters(), lr=1e-2)
    loss = head.loss(
        support, labels, query, query_labels, n, support_text=text)['loss_fsl']
    loss.backward()
    grads = {
        name: p.grad
        for name, p in head.named_parameters() if p.grad is not None
    }
    assert any(name.startswith('layers.') for name in grads)
    metric_params = [name for name, _ in head.metric.named_parameters()]
    assert all(f'metric.{name}' in grads for name in metric_params)
    optim.step()
    after = head.loss(
        support, labels, query, query_labels, n, support_text=text)['loss_fsl']
    assert torch.isfinite(loss) and after < loss
    head.train()
    assert torch.isfinite(
        head.loss(support, labels, query, query_labels, n,
                  support_text=text)['loss_fsl'])

    # Cached evaluation: tokens per video, logits per episode.
    head.eval()
    with torch.no_grad():
        logits = head(support, labels, query, n, support_text=text)
    cached = cached_episode_logits(head, support, labels, query, n, text,
                                   text_of(query_labels))
    assert logits.shape == (e, n * q, n)
    assert torch.allclose(cached, logits, atol=1e-5)
    assert torch.equal(cached.argmax(-1), logits.argmax(-1))


def test_metric_of_another_width_is_refused():
    with pytest.raises(ValueError, match='head.metric.in_channels=32'):
        PrototypeModulationHead(
            in_channels=16,
            num_heads=4,
            metric=dict(type='TRXHead', in_channels=32, num_frames=4))
