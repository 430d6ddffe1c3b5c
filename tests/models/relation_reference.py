# Copyright (c) mmfsar contributors. All rights reserved.
"""Naive references, written from the formulas, for the HyRSM++ and MoLo
head tests: one video or one pair at a time, explicit loops, the layers'
weights applied by hand."""
import math

import torch
import torch.nn.functional as F


def position_code(length, channels):
    """pe[pos, i] = sin(pos / 10000^(2i/D)) and pe[pos, i+1] =
    cos(pos / 10000^(2(i+1)/D)) for even i."""
    code = torch.zeros(length, channels)
    for pos in range(length):
        for i in range(0, channels, 2):
            code[pos, i] = math.sin(pos / 10000**(2 * i / channels))
            code[pos,
                 i + 1] = math.cos(pos / 10000**((2 * (i + 1)) / channels))
    return code


def position(x, a, b):
    """x (L, D) * sqrt(D / a) + b * code."""
    return x * math.sqrt(x.shape[-1] / a) + b * position_code(*x.shape)


def linear(x, layer):
    out = x @ layer.weight.T
    return out if layer.bias is None else out + layer.bias


def heads_attention(q, k, v, num_heads):
    """Softmax attention of (L, D) tokens, heads as contiguous blocks."""
    width = q.shape[-1] // num_heads
    out = []
    for h in range(num_heads):
        sl = slice(h * width, (h + 1) * width)
        att = (q[:, sl] @ k[:, sl].T / math.sqrt(width)).softmax(-1)
        out.append(att @ v[:, sl])
    return torch.cat(out, -1)


def prenorm_attention(x, module):
    """x + out(attention(LayerNorm(x))), x (L, D)."""
    y = F.layer_norm(x, x.shape[-1:], module.norm.weight, module.norm.bias)
    q, k, v = linear(y, module.to_qkv).chunk(3, dim=-1)
    return linear(
        heads_attention(q, k, v, module.num_heads), module.to_out[0]) + x


def transformer_layer(x, layer):
    """Pre-norm attention, then x + FFN(x) (GELU), x (L, D)."""
    x = prenorm_attention(x, layer.attn)
    hidden = F.gelu(linear(x, layer.ffn[0]))
    return linear(hidden, layer.ffn[3]) + x


def postnorm_mha(x, module):
    """LayerNorm(x + fc(attention(x W_q, x W_k, x W_v))), x (L, D)."""
    out = heads_attention(
        linear(x, module.w_qs), linear(x, module.w_ks), linear(x, module.w_vs),
        module.num_heads)
    out = linear(out, module.fc) + x
    return F.layer_norm(out, out.shape[-1:], module.layer_norm.weight,
                        module.layer_norm.bias)


def cosine(a, b, eps=0.0):
    """Cosine of two vectors, eps added to the product of norms."""
    if eps:
        return (a @ b) / (a.norm() * b.norm() + eps)
    return (a @ b) / (a.norm() * b.norm())


def bimhm(query, support, eps=0.0, single_direct=False):
    """sum_i min_j d(q_i, s_j) + sum_j min_i d(q_i, s_j), d = 1 - cos."""
    dist = torch.stack(
        [torch.stack([1 - cosine(a, b, eps) for b in support]) for a in query])
    total = sum(dist[i].min() for i in range(len(query)))
    if not single_direct:
        total = total + sum(dist[:, j].min() for j in range(len(support)))
    return total


@torch.no_grad()
def direct_and_cached_logits(head, first, second, split, num_ways=3):
    """Logits of two episodes (support, labels, query, ...) of 6 support and
    6 query videos each, by ``head.forward`` and by ``episode_logits`` on
    ``video_tokens`` computed in two batches of the videos in shuffled
    order (rows ``split`` and after)."""
    direct = torch.cat(
        [head(e[0], e[1], e[2], num_ways) for e in (first, second)])
    videos = torch.cat([second[2][0], first[0][0], first[2][0], second[0][0]])
    parts = [
        head.video_tokens(videos[:split]),
        head.video_tokens(videos[split:])
    ]
    tokens = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    rows_s = torch.stack([torch.arange(6, 12), torch.arange(18, 24)])
    rows_q = torch.stack([torch.arange(12, 18), torch.arange(0, 6)])
    cached = head.episode_logits(tokens, rows_s,
                                 torch.cat([first[1], second[1]]), rows_q,
                                 num_ways)
    return direct, cached, tokens
