# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from torch import Tensor, nn

from ..utils.otam import cosine_similarity_eps, cross_cosine_similarity_eps
from ..utils.relation_layers import (PreNormTransformerLayer,
                                     ScaledPositionalEncoding, bimhm_distance)
from .base_few_shot_head import BaseFewShotHead, class_mean, episode_class_ids

#: Output widths of the reconstruction decoder's three stages.
DECODER_CHANNELS = (128, 32, 16)


class MotionDecoder(nn.Module):
    """Reconstructs frame differences from motion maps: three stages of
    bilinear upsampling (``align_corners=True``) and ``conv 3x3 (no bias)
    -> BatchNorm -> ReLU``, then a 1x1 convolution to 3 channels.

    The stages upsample x2, x4 and then to the input frame size (x4 more
    for a stride-32 backbone, e.g. 7 -> 14 -> 56 -> 224 at 224 px; the
    released decoder hard-codes the x4).

    Args:
        in_channels (int): Channels of the motion maps.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        widths = (in_channels, ) + DECODER_CHANNELS
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))
            for c_in, c_out in zip(widths[:-1], widths[1:]))
        self.out = nn.Conv2d(DECODER_CHANNELS[-1], 3, 1)

    def forward(self, maps: Tensor, size: Tuple[int, int]) -> Tensor:
        """Motion maps (B, C, h, w) -> images (B, 3, *size)."""
        height, width = maps.shape[-2:]
        sizes = [(2 * height, 2 * width), (8 * height, 8 * width), size]
        for stage, stage_size in zip(self.stages, sizes):
            maps = stage(
                F.interpolate(
                    maps, size=stage_size, mode='bilinear',
                    align_corners=True))
        return self.out(maps)


@MODELS.register_module()
class MoLoHead(BaseFewShotHead):
    """Motion-augmented long-short contrastive learning (MoLo, Wang et al.,
    CVPR 2023), as the released ``CNN_BiMHM_MoLo`` head computes it.

    The head takes per-frame spatial maps (``ResNetFrames(spatial=True)``),
    shape (T, D, h, w) per video.

    - Motion: a 3x3x3 convolution reduces the maps to D/8 channels, a 3x3
      convolution is applied per frame, and the motion of frame t is the
      convolved frame t+1 minus the reduced frame t (T-1 maps). A 1x1
      convolution back to D, ReLU and average pooling give T-1 motion
      features.
    - Each stream (appearance: the pooled maps; motion) gets a learnable
      class token in front, the scaled position code (one instance shared
      by both streams) and a pre-norm Transformer layer, then a ReLU.
    - Logits: prototypes are the per-class means of the support tokens;
      ``-(D_app + motion_logit_weight * D_motion)`` with the Bi-MHM
      distance over the frame tokens (cosine with ``eps`` added to the
      product of norms).

    Training adds, each under its own key and already weighted:

    - ``loss_class``: cross-entropy of a linear classifier over the
      training classes applied to each video's mean appearance token plus
      mean motion token (class tokens included), with the video's class id,
      times ``loss_class_weight`` (``TRAIN.USE_CLASSIFICATION_VALUE``);
    - ``loss_contrastive``: the long-short contrastive terms, cross-entropy
      over the episode's classes of logits ``-scale * sum_t (1 - cos)``
      between a prototype's frame tokens and the query's class token
      (support to query) and between the query's frame tokens and the
      prototype's class token (query to support), for appearance and, with
      ``use_motion``, for motion (own ``scale``); the sum times
      ``loss_contrastive_weight`` (``TRAIN.USE_CONTRASTIVE_COFF``);
    - ``loss_recons``: the mean squared error between the decoded motion
      maps (:class:`MotionDecoder`, BatchNorm statistics per episode) and
      the differences of consecutive preprocessed input frames, times
      ``loss_recons_weight``.

    The released script divides every term but the reconstruction by its
    batch size 4 and accumulates 4 iterations. mmfsar averages every term
    over the episodes of an optimizer step, so ``loss_recons_weight`` is
    ``TRAIN.RECONS_COFF`` times 4 for the released gradient. The head
    keeps no state between calls; the cached evaluation stores both token
    sequences per video and matches them per episode.

    Released switches left out: ``TRAIN.USE_LOCAL`` (per-token class
    logits, which the released script cannot pair with its per-video
    labels), ``MOTION_COFF`` (a term on logits the head never returns) and
    ``USE_FLOW`` (optical-flow targets no released dataset provides).

    Args:
        in_channels (int): D, channels of the backbone's maps. Defaults to
            2048 (ResNet-50).
        num_heads (int): Attention heads (``TRAIN.HEAD``). Defaults to 8.
        ffn_channels (int): FFN hidden width. Defaults to 2048.
        position_a (float): Tokens are multiplied by ``sqrt(D /
            position_a)`` before the code is added (``TRAIN.POSITION_A``).
            Defaults to 10.
        position_b (float): Weight of the code (``TRAIN.POSITION_B``).
            Defaults to 1.
        position_drop (float): Dropout after the position code.
            Defaults to 0.1.
        attn_drop (float): Dropout after the attention output projection.
            Defaults to 0.2.
        ffn_drop (float): Dropouts of the FFN. Defaults to 0.05.
        motion_logit_weight (float): Weight of the motion distance in the
            logits (``TRAIN.LOGIT_BALANCE_COFF``). Defaults to 0.3.
        single_direct (bool): Bi-MHM from query to support only
            (``TRAIN.SINGLE_DIRECT``). Defaults to False.
        eps (float): Added to the product of norms in every cosine.
            Defaults to 0.01.
        num_classes (int, optional): Training classes of the classifier
            (``TRAIN.NUM_CLASS``); None builds none
            (``USE_CLASSIFICATION: false``). Defaults to None.
        loss_class_weight (float): Weight of ``loss_class``. Defaults to
            0.8.
        use_contrastive (bool): Build the learnable scales and compute
            ``loss_contrastive`` (``TRAIN.USE_CONTRASTIVE``). Defaults to
            True.
        use_motion (bool): Include the motion terms in ``loss_contrastive``
            (``TRAIN.USE_MOTION``; the motion stream is always in the
            logits). Defaults to True.
        loss_contrastive_weight (float): Defaults to 0.05.
        temperature (float, optional): A fixed value for both scales
            instead of learnable ones initialised to 1
            (``TRAIN.TEMP_COFF``). Defaults to None.
        use_recons (bool): Compute ``loss_recons``
            (``TRAIN.USE_RECONS``). Defaults to True.
        loss_recons_weight (float): Defaults to 0.4 (``RECONS_COFF`` 0.1
            times 4).
        loss_cls (dict): Loss on the query logits.

    The loss defaults are the released SSv2-Full values.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 num_heads: int = 8,
                 ffn_channels: int = 2048,
                 position_a: float = 10.,
                 position_b: float = 1.,
                 position_drop: float = 0.1,
                 attn_drop: float = 0.2,
                 ffn_drop: float = 0.05,
                 motion_logit_weight: float = 0.3,
                 single_direct: bool = False,
                 eps: float = 0.01,
                 num_classes: Optional[int] = None,
                 loss_class_weight: float = 0.8,
                 use_contrastive: bool = True,
                 use_motion: bool = True,
                 loss_contrastive_weight: float = 0.05,
                 temperature: Optional[float] = None,
                 use_recons: bool = True,
                 loss_recons_weight: float = 0.4,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        self.in_channels = in_channels
        self.motion_logit_weight = motion_logit_weight
        self.single_direct = single_direct
        self.eps = eps
        self.num_classes = num_classes
        self.loss_class_weight = loss_class_weight
        self.use_contrastive = use_contrastive
        self.use_motion = use_motion
        self.loss_contrastive_weight = loss_contrastive_weight
        self.use_recons = use_recons
        self.loss_recons_weight = loss_recons_weight
        self.uses_inputs = use_recons
        if use_contrastive and temperature is None:
            self.scale = nn.Parameter(torch.ones(1))
            self.scale_motion = nn.Parameter(torch.ones(1))
        else:
            self.scale = self.scale_motion = temperature
        self.position = ScaledPositionalEncoding(in_channels, position_a,
                                                 position_b, position_drop)
        self.class_token = nn.Parameter(torch.randn(1, 1, in_channels))
        self.class_token_motion = nn.Parameter(torch.randn(1, 1, in_channels))
        self.appearance_encoder = PreNormTransformerLayer(
            in_channels, num_heads, ffn_channels, attn_drop, ffn_drop)
        self.motion_encoder = PreNormTransformerLayer(in_channels, num_heads,
                                                      ffn_channels, attn_drop,
                                                      ffn_drop)
        motion_channels = in_channels // 8
        self.motion_reduce = nn.Conv3d(
            in_channels, motion_channels, 3, padding=1)
        self.motion_conv = nn.Conv2d(
            motion_channels, motion_channels, 3, padding=1)
        self.motion_up = nn.Conv2d(motion_channels, in_channels, 1)
        self.class_head = nn.Linear(
            in_channels, num_classes) if num_classes is not None else None
        self.decoder = MotionDecoder(motion_channels)

    # ------------------------------------------------------------ per video
    def motion_maps(self, maps: Tensor) -> Tensor:
        """Motion maps of videos.

        Args:
            maps (Tensor): Spatial maps, shape (V, T, D, h, w).

        Returns:
            Tensor: ``conv(reduced[t + 1]) - reduced[t]``, shape
            (V, T-1, D/8, h, w).
        """
        reduced = self.motion_reduce(maps.transpose(1, 2)).transpose(1, 2)
        conv = self.motion_conv(reduced.flatten(0, 1)).view_as(reduced)
        return conv[:, 1:] - reduced[:, :-1]

    def _stream(self, feats: Tensor, token: Tensor,
                encoder: nn.Module) -> Tensor:
        tokens = torch.cat([token.expand(len(feats), -1, -1), feats], dim=1)
        return F.relu(encoder(self.position(tokens)))

    def encode(self, maps: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Token sequences of every video, independently.

        Args:
            maps (Tensor): Spatial maps, shape (..., T, D, h, w).

        Returns:
            tuple[Tensor, Tensor, Tensor]: Appearance tokens, class token
            first, shape (..., T+1, D); motion tokens (..., T, D); motion
            maps (..., T-1, D/8, h, w).
        """
        lead = maps.shape[:-4]
        maps = maps.reshape(-1, *maps.shape[-4:])
        motion = self.motion_maps(maps)
        motion_feats = F.relu(self.motion_up(motion.flatten(0, 1))).mean(
            dim=(-2, -1)).view(*motion.shape[:2], -1)
        motion_tokens = self._stream(motion_feats, self.class_token_motion,
                                     self.motion_encoder)
        appearance = self._stream(
            maps.mean(dim=(-2, -1)), self.class_token, self.appearance_encoder)
        return (appearance.view(*lead, *appearance.shape[1:]),
                motion_tokens.view(*lead, *motion_tokens.shape[1:]),
                motion.view(*lead, *motion.shape[1:]))

    # ---------------------------------------------------------- per episode
    def match(self, support: Tuple[Tensor, Tensor], support_labels: Tensor,
              query: Tuple[Tensor, Tensor], num_ways: int) -> Tensor:
        """``-(D_app + motion_logit_weight * D_motion)`` to each prototype.

        Args:
            support (tuple[Tensor, Tensor]): Appearance tokens
                (E, N*K, T+1, D) and motion tokens (E, N*K, T, D).
            support_labels (Tensor): Shape (E, N*K).
            query (tuple[Tensor, Tensor]): Of the queries, (E, N*Q, ...).
            num_ways (int): N.

        Returns:
            Tensor: Logits, shape (E, N*Q, N).
        """
        dist = 0.
        for weight, sup, qry in zip((1., self.motion_logit_weight), support,
                                    query):
            protos = class_mean(sup, support_labels, num_ways)
            sims = cross_cosine_similarity_eps(qry[:, :, 1:], protos[:, :, 1:],
                                               self.eps)
            dist = dist + weight * bimhm_distance(1 - sims, self.single_direct)
        return -dist

    def long_short_logits(self, prototypes: Tensor, query: Tensor,
                          scale) -> Tuple[Tensor, Tensor]:
        """Support-to-query and query-to-support logits of one stream.

        Args:
            prototypes (Tensor): Class tokens first, shape (E, N, L, D).
            query (Tensor): Shape (E, N*Q, L, D).
            scale (Tensor | float): Multiplies the distances.

        Returns:
            tuple[Tensor, Tensor]: ``-scale * sum_t (1 - cos(P[n, t],
            q[0]))`` and ``-scale * sum_t (1 - cos(q[t], P[n, 0]))``, each
            shape (E, N*Q, N).
        """
        num_ways, length = prototypes.shape[1:3]
        s2q = 1 - cosine_similarity_eps(prototypes[:, :, 1:].flatten(1, 2),
                                        query[:, :, 0], self.eps)
        s2q = s2q.unflatten(1, (num_ways, length - 1)).sum(dim=2)
        q2s = 1 - cosine_similarity_eps(query[:, :, 1:].flatten(1, 2),
                                        prototypes[:, :, 0], self.eps)
        q2s = q2s.unflatten(1, (query.shape[1], length - 1)).sum(dim=2)
        return -scale * s2q.transpose(1, 2), -scale * q2s

    def forward(self,
                support: Tensor,
                support_labels: Tensor,
                query: Tensor,
                num_ways: int,
                support_text: Optional[Tensor] = None) -> Tensor:
        """Episode logits.

        Args:
            support (Tensor): Spatial maps, shape (E, N*K, T, D, h, w).
            support_labels (Tensor): Shape (E, N*K).
            query (Tensor): Shape (E, N*Q, T, D, h, w).
            num_ways (int): N.
            support_text: Unused.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        return self.match(
            self.encode(support)[:2], support_labels,
            self.encode(query)[:2], num_ways)

    def loss(self, support: Tensor, support_labels: Tensor, query: Tensor,
             query_labels: Tensor, num_ways: int,
             **extra) -> Dict[str, Tensor]:
        """``loss_fsl``, ``acc`` and the weighted ``loss_class``,
        ``loss_contrastive`` and ``loss_recons`` that are switched on.

        Args:
            support, support_labels, query, query_labels, num_ways: As in
                ``BaseFewShotHead.loss``; features are spatial maps.
            **extra: ``support_class_ids``, ``query_class_ids`` and
                ``num_classes`` for ``loss_class``; ``support_inputs`` and
                ``query_inputs`` (E, N*K / N*Q, T, 3, H, W), the
                preprocessed frames, for ``loss_recons``.
        """
        *support_tokens, support_motion = self.encode(support)
        *query_tokens, query_motion = self.encode(query)
        losses = self.fsl_losses(
            self.match(support_tokens, support_labels, query_tokens, num_ways),
            query_labels)
        if self.class_head is not None and self.loss_class_weight:
            feats = [
                appearance.mean(dim=-2) + motion.mean(dim=-2)
                for appearance, motion in (support_tokens, query_tokens)
            ]
            class_ids = episode_class_ids(extra, self.num_classes)
            losses['loss_class'] = self.loss_class_weight * F.cross_entropy(
                self.class_head(torch.cat(feats, dim=1)).flatten(0, 1),
                class_ids.flatten())
        if self.use_contrastive and self.loss_contrastive_weight:
            streams = list(
                zip(support_tokens, query_tokens,
                    (self.scale, self.scale_motion)))
            if not self.use_motion:
                streams = streams[:1]
            terms = []
            for sup, qry, scale in streams:
                protos = class_mean(sup, support_labels, num_ways)
                for logits in self.long_short_logits(protos, qry, scale):
                    terms.append(
                        F.cross_entropy(
                            logits.flatten(0, 1), query_labels.flatten()))
            losses['loss_contrastive'] = self.loss_contrastive_weight * sum(
                terms)
        if self.use_recons and self.loss_recons_weight:
            losses['loss_recons'] = self.loss_recons_weight * self.recons_loss(
                support_motion, query_motion, extra)
        return losses

    def recons_loss(self, support_motion: Tensor, query_motion: Tensor,
                    extra: dict) -> Tensor:
        """Mean squared error of the decoded motion maps against the
        differences of consecutive input frames, averaged over episodes.

        The decoder runs once per episode on its support then query motion
        maps, so that its BatchNorm statistics in training are an
        episode's, as released.
        """
        if 'support_inputs' not in extra:
            raise ValueError(
                f'{type(self).__name__}.loss needs support_inputs and '
                'query_inputs for loss_recons (FewShotRecognizer passes them '
                'to heads with uses_inputs).')
        errors = []
        for episode in range(len(support_motion)):
            motion = torch.cat(
                [support_motion[episode],
                 query_motion[episode]]).flatten(0, 1)
            frames = torch.cat([
                extra['support_inputs'][episode],
                extra['query_inputs'][episode]
            ])
            target = (frames[:, 1:] - frames[:, :-1]).flatten(0, 1)
            recons = self.decoder(motion, target.shape[-2:])
            errors.append(F.mse_loss(recons, target.to(recons)))
        return torch.stack(errors).mean()

    def video_tokens(self,
                     feats: Tensor,
                     text: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Both token sequences of each video: ``appearance`` (V, T+1, D)
        and ``motion`` (V, T, D)."""
        appearance, motion, _ = self.encode(feats)
        return dict(appearance=appearance, motion=motion)

    def episode_logits(self, tokens: Dict[str, Tensor], support: Tensor,
                       support_labels: Tensor, query: Tensor,
                       num_ways: int) -> Tensor:
        """Prototypes and Bi-MHM of each episode from the cached tokens;
        equal to :meth:`forward`."""
        streams = (tokens['appearance'], tokens['motion'])
        return self.match([t[support] for t in streams], support_labels,
                          [t[query] for t in streams], num_ways)
