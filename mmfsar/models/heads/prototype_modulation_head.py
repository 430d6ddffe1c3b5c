# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils.otam import cross_cosine_similarity_eps, otam_distance


class ModulationLayer(nn.Module):
    """One block of CLIP-FSAR's temporal Transformer (``Transformer_v1``).

    Pre-LN attention with one LayerNorm shared by q, k and v, bias-free
    q/k/v projections, an output projection followed by dropout, then a
    residual FFN with no LayerNorm in front of it. No positional encoding.

    Args:
        channels (int): Token dimension D.
        num_heads (int): Attention heads; head dim is D / num_heads.
        ffn_channels (int): Hidden width of the FFN.
        attn_out_drop (float): Dropout after the attention output
            projection.
        ffn_drop (float): Dropout inside and after the FFN.
    """

    def __init__(self, channels: int, num_heads: int, ffn_channels: int,
                 attn_out_drop: float, ffn_drop: float) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'head.in_channels={channels} is not divisible '
                             f'by head.num_heads={num_heads}.')
        self.num_heads = num_heads
        self.norm = nn.LayerNorm(channels)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.Sequential(
            nn.Linear(channels, channels), nn.Dropout(attn_out_drop))
        self.ffn = nn.Sequential(
            nn.Linear(channels, ffn_channels), nn.GELU(), nn.Dropout(ffn_drop),
            nn.Linear(ffn_channels, channels), nn.Dropout(ffn_drop))

    def _heads(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (self.num_heads, -1)).transpose(-2, -3)

    def forward(self, x: Tensor) -> Tensor:
        """Tokens (B, L, D) -> tokens (B, L, D)."""
        y = self.norm(x)
        attn = F.scaled_dot_product_attention(
            self._heads(self.to_q(y)), self._heads(self.to_k(y)),
            self._heads(self.to_v(y)))
        x = self.to_out(attn.transpose(-2, -3).flatten(-2)) + x
        return self.ffn(x) + x


@MODELS.register_module()
class PrototypeModulationHead(BaseModule):
    """CLIP-guided prototype modulation and bidirectional OTAM matching.

    Each support video's frame features are modulated by a temporal
    Transformer together with its class-text token (appended last, its
    output dropped); queries go through the same Transformer without text.
    Prototypes are the per-class means over shots, taken after modulation
    (released 1-shot recipe) or of the raw features before it
    (``merge_before=True``, released 5-shot recipe). Logits are minus the
    bidirectional OTAM distance. The head keeps no state between calls.

    Shapes use N ways, K shots, Q queries per class, T frames, D channels,
    and E episodes processed together.

    Args:
        in_channels (int): Feature dimension D.
        num_layers (int): Transformer depth. Defaults to 1.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_channels (int): FFN hidden width. Defaults to 2048.
        attn_out_drop (float): Dropout on the attention output.
            Defaults to 0.2.
        ffn_drop (float): Dropout in the FFN. Defaults to 0.05.
        merge_before (bool): Average shots before modulation.
            Defaults to False.
        lbda (float): OTAM soft-min temperature. Defaults to 0.5.
        bidirectional (bool): Sum both OTAM directions. Defaults to True.
        logit_scale (float): Multiplies the logits ``-distance``. The
            released code uses none (1.0). Defaults to 1.0.
        loss_cls (dict): Loss on the query logits. Defaults to
            ``dict(type='CrossEntropyLoss')``.
    """

    def __init__(self,
                 in_channels: int,
                 num_layers: int = 1,
                 num_heads: int = 8,
                 ffn_channels: int = 2048,
                 attn_out_drop: float = 0.2,
                 ffn_drop: float = 0.05,
                 merge_before: bool = False,
                 lbda: float = 0.5,
                 bidirectional: bool = True,
                 logit_scale: float = 1.0,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.merge_before = merge_before
        self.lbda = lbda
        self.bidirectional = bidirectional
        self.logit_scale = logit_scale
        self.layers = nn.Sequential(*[
            ModulationLayer(in_channels, num_heads, ffn_channels,
                            attn_out_drop, ffn_drop) for _ in range(num_layers)
        ])
        self.loss_cls = MODELS.build(loss_cls)

    def modulate(self,
                 frames: Tensor,
                 text: Optional[Tensor] = None) -> Tensor:
        """Run the temporal Transformer.

        Args:
            frames (Tensor): Frame features, shape (..., T, D).
            text (Tensor, optional): One text token per video, shape
                (..., D), appended after the frames. Defaults to None.

        Returns:
            Tensor: The T modulated frame tokens, shape (..., T, D).
        """
        num_frames = frames.shape[-2]
        tokens = frames if text is None else torch.cat(
            [frames, text.unsqueeze(-2)], dim=-2)
        lead = tokens.shape[:-2]
        out = self.layers(tokens.flatten(0, -3) if lead else tokens[None])
        return out.view(*lead, *out.shape[-2:])[..., :num_frames, :]

    def prototypes(self,
                   support: Tensor,
                   support_labels: Tensor,
                   text: Tensor,
                   num_ways: int,
                   modulated: Optional[Tensor] = None) -> Tensor:
        """Class prototypes of each episode.

        Args:
            support (Tensor): Support frame features, shape (E, N*K, T, D).
            support_labels (Tensor): Episode labels 0..N-1, shape (E, N*K).
            text (Tensor): Text token of each support video, shape
                (E, N*K, D).
            num_ways (int): N.
            modulated (Tensor, optional): ``modulate(support, text)`` when
                the caller has it already (the cached evaluation computes it
                once per video). Unused with ``merge_before``, where the
                Transformer runs on the shot means. Defaults to None.

        Returns:
            Tensor: Prototypes, shape (E, N, T, D), in label order.
        """
        onehot = F.one_hot(support_labels, num_ways).to(support.dtype)
        weights = onehot / onehot.sum(dim=1, keepdim=True).clamp(min=1)
        if self.merge_before:
            frames = torch.einsum('ekn,ektd->entd', weights, support)
            class_text = torch.einsum('ekn,ekd->end', weights, text)
            return self.modulate(frames, class_text)
        if modulated is None:
            modulated = self.modulate(support, text)
        return torch.einsum('ekn,ektd->entd', weights, modulated)

    def match(self, prototypes: Tensor, queries: Tensor) -> Tensor:
        """Logits of modulated queries against prototypes.

        Args:
            prototypes (Tensor): Shape (E, N, T, D).
            queries (Tensor): Modulated query frames, shape (E, N*Q, T, D).

        Returns:
            Tensor: ``-logit_scale * OTAM distance``, shape (E, N*Q, N).
        """
        sims = cross_cosine_similarity_eps(queries, prototypes)
        dist = otam_distance(1 - sims, self.lbda, self.bidirectional)
        return -self.logit_scale * dist

    def forward(self, support: Tensor, support_labels: Tensor, query: Tensor,
                text: Tensor, num_ways: int) -> Tensor:
        """Episode logits.

        Args:
            support (Tensor): Shape (E, N*K, T, D).
            support_labels (Tensor): Shape (E, N*K), values 0..N-1.
            query (Tensor): Shape (E, N*Q, T, D).
            text (Tensor): Text token per support video, shape (E, N*K, D).
            num_ways (int): N.

        Returns:
            Tensor: ``-logit_scale * OTAM distance``, shape (E, N*Q, N).
        """
        protos = self.prototypes(support, support_labels, text, num_ways)
        return self.match(protos, self.modulate(query))

    def loss(self, logits: Tensor, query_labels: Tensor) -> Tensor:
        """Cross-entropy over the N episode classes.

        Args:
            logits (Tensor): Shape (E, N*Q, N).
            query_labels (Tensor): Shape (E, N*Q).
        """
        return self.loss_cls(logits.flatten(0, 1), query_labels.flatten())
