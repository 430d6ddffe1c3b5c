# Copyright (c) mmfsar contributors. All rights reserved.
"""Layers shared by the HyRSM++ and MoLo heads, as their authors built them.

These are the released building blocks (``PositionalEncoder``,
``Attention`` behind a pre-norm residual, ``FeedForward`` and the post-norm
``MultiHeadAttention``) written afresh; their quirks are kept because the
published numbers depend on them and each is noted where it is.
"""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def scaled_sinusoid(length: int, channels: int) -> Tensor:
    """The position code of HyRSM++ and MoLo, shape (length, channels).

    Column ``j`` holds ``sin(pos / 10000 ** (2 * j / D))`` for even ``j``
    and ``cos(pos / 10000 ** (2 * j / D))`` for odd ``j``. The exponent is
    twice the Transformer paper's, and a sin/cos pair does not share a
    frequency; both as released.
    """
    if channels % 2:
        raise ValueError('The position code needs an even channel count, '
                         f'got {channels}.')
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    col = torch.arange(channels, dtype=torch.float64)
    angle = pos / 10000**(2 * col / channels)
    code = torch.where(col % 2 == 0, torch.sin(angle), torch.cos(angle))
    return code.float()


class ScaledPositionalEncoding(nn.Module):
    """``dropout(x * sqrt(D / position_a) + position_b * code)``.

    The input features are rescaled (x14.3 for D = 2048 and the default
    ``position_a`` 10) before the code of :func:`scaled_sinusoid` is added,
    as the released ``PositionalEncoder`` does. The code is recomputed for
    any length, so nothing is stored.

    Args:
        channels (int): D.
        position_a (float): ``TRAIN.POSITION_A``. Defaults to 10.
        position_b (float): ``TRAIN.POSITION_B``. Defaults to 1.
        dropout (float): Dropout after the sum. Defaults to 0.1.
    """

    def __init__(self,
                 channels: int,
                 position_a: float = 10.,
                 position_b: float = 1.,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.channels = channels
        self.position_a = position_a
        self.position_b = position_b
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Sequences (B, L, D) -> (B, L, D)."""
        code = scaled_sinusoid(x.shape[-2], self.channels).to(x)
        x = x * math.sqrt(self.channels / self.position_a)
        return self.dropout(x + self.position_b * code)


class PreNormSelfAttention(nn.Module):
    """``x + attention(LayerNorm(x))``: multi-head self-attention with one
    bias-free q/k/v projection (chunked in that order, heads as contiguous
    blocks), no dropout on the attention weights, and an output projection
    followed by dropout (none when there is one head of width D, as
    released).

    Args:
        channels (int): D.
        num_heads (int): Heads of width D / num_heads.
        out_drop (float): Dropout after the output projection.
    """

    def __init__(self, channels: int, num_heads: int, out_drop: float) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'in_channels={channels} is not divisible by '
                             f'num_heads={num_heads}.')
        self.num_heads = num_heads
        self.norm = nn.LayerNorm(channels)
        self.to_qkv = nn.Linear(channels, 3 * channels, bias=False)
        self.to_out = nn.Sequential(
            nn.Linear(channels, channels),
            nn.Dropout(out_drop)) if num_heads > 1 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """Tokens (B, L, D) -> (B, L, D)."""
        heads = (
            t.unflatten(-1, (self.num_heads, -1)).transpose(-2, -3)
            for t in self.to_qkv(self.norm(x)).chunk(3, dim=-1))
        out = F.scaled_dot_product_attention(*heads)
        return self.to_out(out.transpose(-2, -3).flatten(-2)) + x


class FeedForward(nn.Sequential):
    """``Linear -> GELU -> Dropout -> Linear -> Dropout`` (no residual).

    Args:
        channels (int): D.
        hidden_channels (int): The hidden width.
        dropout (float): Both dropouts.
    """

    def __init__(self, channels: int, hidden_channels: int,
                 dropout: float) -> None:
        super().__init__(
            nn.Linear(channels, hidden_channels), nn.GELU(),
            nn.Dropout(dropout), nn.Linear(hidden_channels, channels),
            nn.Dropout(dropout))


class PreNormTransformerLayer(nn.Module):
    """``x = x + attention(LayerNorm(x))``, then ``x + FFN(x)`` without a
    LayerNorm before the FFN and no final norm: one layer of the released
    ``Transformer_v2`` (MoLo's temporal encoders).

    Args:
        channels (int): D.
        num_heads (int): Attention heads.
        ffn_channels (int): FFN hidden width.
        attn_drop (float): Dropout after the attention output projection.
        ffn_drop (float): Dropouts of the FFN.
    """

    def __init__(self, channels: int, num_heads: int, ffn_channels: int,
                 attn_drop: float, ffn_drop: float) -> None:
        super().__init__()
        self.attn = PreNormSelfAttention(channels, num_heads, attn_drop)
        self.ffn = FeedForward(channels, ffn_channels, ffn_drop)

    def forward(self, x: Tensor) -> Tensor:
        """Tokens (B, L, D) -> (B, L, D)."""
        x = self.attn(x)
        return self.ffn(x) + x


class PostNormMultiHeadAttention(nn.Module):
    """``LayerNorm(q + dropout(fc(attention(q, k, v))))``: the inter-video
    relation of HyRSM++ (the released ``MultiHeadAttention``).

    Bias-free q/k/v projections initialised N(0, 2 / (D + D/H)), heads as
    contiguous blocks, dropout on the attention probabilities, a xavier-
    normal output projection, then a residual to the *query input* and a
    LayerNorm after it.

    Args:
        channels (int): D.
        num_heads (int): H, heads of width D / H.
        attn_drop (float): Dropout on the attention probabilities
            (0.1 as released, a default there that the head never set).
        out_drop (float): Dropout after the output projection.
    """

    def __init__(self, channels: int, num_heads: int, attn_drop: float,
                 out_drop: float) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'in_channels={channels} is not divisible by '
                             f'num_heads={num_heads}.')
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.w_qs = nn.Linear(channels, channels, bias=False)
        self.w_ks = nn.Linear(channels, channels, bias=False)
        self.w_vs = nn.Linear(channels, channels, bias=False)
        std = math.sqrt(2.0 / (channels + channels // num_heads))
        for linear in (self.w_qs, self.w_ks, self.w_vs):
            nn.init.normal_(linear.weight, mean=0, std=std)
        self.fc = nn.Linear(channels, channels)
        nn.init.xavier_normal_(self.fc.weight)
        self.dropout = nn.Dropout(out_drop)
        self.layer_norm = nn.LayerNorm(channels)

    def _heads(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (self.num_heads, -1)).transpose(-2, -3)

    def forward(self, x: Tensor) -> Tensor:
        """Self-attention over a set: tokens (B, L, D) -> (B, L, D)."""
        out = F.scaled_dot_product_attention(
            self._heads(self.w_qs(x)),
            self._heads(self.w_ks(x)),
            self._heads(self.w_vs(x)),
            dropout_p=self.attn_drop if self.training else 0.)
        out = self.dropout(self.fc(out.transpose(-2, -3).flatten(-2)))
        return self.layer_norm(out + x)


def bimhm_distance(frame_dist: Tensor, single_direct: bool = False) -> Tensor:
    """Bidirectional Mean Hausdorff Metric of HyRSM++ and MoLo.

    Each query frame's distance to its nearest support frame, summed over
    the query frames, plus the same from the support side. The released
    code sums over frames (the "mean" is in name only), which scales the
    logits by T; kept.

    Args:
        frame_dist (Tensor): Frame distances, shape (..., T_q, T_s): row a
            query frame, column a support frame.
        single_direct (bool): Keep only the query-to-support term
            (``TRAIN.SINGLE_DIRECT``). Defaults to False.

    Returns:
        Tensor: Shape (...).
    """
    # min(), not amin(): on ties the gradient goes to one frame, as
    # released.
    dist = frame_dist.min(dim=-1).values.sum(dim=-1)
    if not single_direct:
        dist = dist + frame_dist.min(dim=-2).values.sum(dim=-1)
    return dist
