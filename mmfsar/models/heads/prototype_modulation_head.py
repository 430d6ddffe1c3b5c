# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from torch import Tensor, nn

from .base_few_shot_head import BaseFewShotHead, class_mean


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
class PrototypeModulationHead(BaseFewShotHead):
    """CLIP-guided prototype modulation, then any few-shot metric.

    Each support video's frame features are modulated by a temporal
    Transformer together with its class-text token (appended last, its
    output dropped); queries go through the same Transformer without text.
    Prototypes are the per-class means over shots, taken after modulation
    (released 1-shot recipe) or of the raw features before it
    (``merge_before=True``, released 5-shot recipe). The ``metric`` head
    then matches the modulated queries against the prototypes, given as a
    one-shot support set; CLIP-FSAR's is bidirectional OTAM with soft-min
    temperature 0.5, and the paper's plug-and-play experiments put the
    modulation in front of other metrics (``TRXHead``, ``FewShotTSNHead``,
    ``CrossTransformerHead``). The head keeps no state between calls.

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
        metric (dict): The head that matches queries to prototypes.
            Defaults to bidirectional OTAM with ``lbda=0.5``, as released.
        logit_scale (float): Multiplies the metric's logits. The released
            code uses none (1.0). Defaults to 1.0.
        loss_cls (dict): Loss on the query logits. Defaults to
            ``dict(type='CrossEntropyLoss')``.
    """
    uses_text = True

    def __init__(self,
                 in_channels: int,
                 num_layers: int = 1,
                 num_heads: int = 8,
                 ffn_channels: int = 2048,
                 attn_out_drop: float = 0.2,
                 ffn_drop: float = 0.05,
                 merge_before: bool = False,
                 metric: ConfigType = dict(
                     type='OTAMHead', lbda=0.5, bidirectional=True),
                 logit_scale: float = 1.0,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        self.in_channels = in_channels
        self.merge_before = merge_before
        self.logit_scale = logit_scale
        self.layers = nn.Sequential(*[
            ModulationLayer(in_channels, num_heads, ffn_channels,
                            attn_out_drop, ffn_drop) for _ in range(num_layers)
        ])
        self.metric = MODELS.build(metric)
        if getattr(self.metric, 'uses_text', False):
            raise ValueError(
                f'head.metric={type(self.metric).__name__} uses text itself; '
                'the metric of PrototypeModulationHead must be a head '
                'without text (OTAMHead, TRXHead, FewShotTSNHead, ...).')
        metric_channels = getattr(self.metric, 'in_channels', in_channels)
        if metric_channels != in_channels:
            raise ValueError(
                f'head.metric.in_channels={metric_channels} differs from '
                f'head.in_channels={in_channels}: the metric compares the '
                'modulated frames, which keep the feature dimension.')

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
        if self.merge_before:
            return self.modulate(
                class_mean(support, support_labels, num_ways),
                class_mean(text, support_labels, num_ways))
        if modulated is None:
            modulated = self.modulate(support, text)
        return class_mean(modulated, support_labels, num_ways)

    def match(self, prototypes: Tensor, queries: Tensor) -> Tensor:
        """Logits of modulated queries against prototypes.

        Args:
            prototypes (Tensor): Shape (E, N, T, D).
            queries (Tensor): Modulated query frames, shape (E, N*Q, T, D).

        Returns:
            Tensor: ``logit_scale`` times the metric's logits, shape
            (E, N*Q, N).
        """
        num_episodes, num_ways = prototypes.shape[:2]
        labels = torch.arange(
            num_ways, device=prototypes.device).expand(num_episodes, -1)
        return self.logit_scale * self.metric(prototypes, labels, queries,
                                              num_ways)

    def forward(self,
                support: Tensor,
                support_labels: Tensor,
                query: Tensor,
                num_ways: int,
                support_text: Optional[Tensor] = None) -> Tensor:
        """Episode logits.

        Args:
            support (Tensor): Shape (E, N*K, T, D).
            support_labels (Tensor): Shape (E, N*K), values 0..N-1.
            query (Tensor): Shape (E, N*Q, T, D).
            num_ways (int): N.
            support_text (Tensor): Text token per support video, shape
                (E, N*K, D).

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        if support_text is None:
            raise ValueError('PrototypeModulationHead needs the class-text '
                             'token of each support video (support_text).')
        protos = self.prototypes(support, support_labels, support_text,
                                 num_ways)
        return self.match(protos, self.modulate(query))

    def video_tokens(self,
                     feats: Tensor,
                     text: Optional[Tensor] = None,
                     chunk_size: int = 1024) -> Dict[str, Tensor]:
        """Each video's modulated frames, as query and as support.

        Out of training (no dropout) the Transformer sees one video at a
        time: a query's frames, or a support video's frames with its own
        class's text token. So each video's modulated frames are the same
        in every episode. With ``merge_before`` the support side depends
        on the episode's shots and is left to :meth:`episode_logits`.

        Args:
            feats (Tensor): Frame features of V videos, shape (V, T, D).
            text (Tensor): Text token of each video's class, shape (V, D).
            chunk_size (int): Videos per Transformer batch. Defaults to
                1024.

        Returns:
            dict[str, Tensor]: ``frames`` (V, T, D), ``text`` (V, D),
            ``query`` (V, T, D) and, unless ``merge_before``, ``support``
            (V, T, D).
        """
        if self.training:
            raise RuntimeError('video_tokens is for evaluation: in training '
                               'mode dropout makes every use different.')

        def modulate(with_text: bool) -> Tensor:
            parts = [
                self.modulate(
                    feats[start:start + chunk_size],
                    text[start:start + chunk_size] if with_text else None)
                for start in range(0, len(feats), chunk_size)
            ]
            return torch.cat(parts) if parts else feats.clone()

        tokens = dict(frames=feats, text=text, query=modulate(False))
        if not self.merge_before:
            tokens['support'] = modulate(True)
        return tokens

    def episode_logits(self, tokens: Dict[str, Tensor], support: Tensor,
                       support_labels: Tensor, query: Tensor,
                       num_ways: int) -> Tensor:
        """Logits of episodes from :meth:`video_tokens`; see
        :meth:`BaseFewShotHead.episode_logits`."""
        modulated = tokens['support'][support] if 'support' in tokens \
            else None
        protos = self.prototypes(tokens['frames'][support], support_labels,
                                 tokens['text'][support], num_ways, modulated)
        return self.match(protos, tokens['query'][query])
