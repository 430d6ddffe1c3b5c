# Copyright (c) mmfsar contributors. All rights reserved.
import math

import torch
import torch.nn.functional as F

from mmfsar.models import PrototypeModulationHead


def manual_layer(layer, x):
    """One Transformer_v1 block written out from SPEC 2.1 (eval mode)."""
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


def test_logits_shape():
    head = build_head(False)
    e, n, k, q, t, d = 2, 5, 1, 3, 8, 16
    support = torch.randn(e, n * k, t, d)
    labels = torch.arange(n).repeat(e, 1)
    query = torch.randn(e, n * q, t, d)
    logits = head(support, labels, query, torch.randn(e, n * k, d), n)
    assert logits.shape == (e, n * q, n)


def test_head_is_stateless():
    head = build_head(False)
    support, labels, text, n = tiny_episode()
    query = torch.randn(1, 4, 4, 16)
    first = head(support, labels, query, text, n)
    head(torch.randn_like(support), labels, torch.randn_like(query), text, n)
    assert torch.equal(first, head(support, labels, query, text, n))


def test_default_architecture_matches_released_code():
    head = PrototypeModulationHead(in_channels=1024)
    assert len(head.layers) == 1
    layer = head.layers[0]
    assert layer.num_heads == 8
    assert layer.to_q.bias is None and layer.to_out[0].bias is not None
    assert layer.ffn[0].out_features == 2048
    assert layer.to_out[1].p == 0.2 and layer.ffn[2].p == 0.05
    # SPEC 1.1: about 8.4M parameters for D = 1024.
    assert sum(p.numel() for p in head.parameters()) == 8394752
