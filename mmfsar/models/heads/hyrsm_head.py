# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from torch import Tensor, nn

from ..utils.relation_layers import (PostNormMultiHeadAttention,
                                     PreNormSelfAttention,
                                     ScaledPositionalEncoding, bimhm_distance)
from .base_few_shot_head import BaseFewShotHead, class_mean, episode_class_ids


def temporal_coherence_targets(num_frames: int, window_size: int,
                               temporal_balance: float
                               ) -> Tuple[Tensor, Tensor]:
    """The target matrix R and window mask L of HyRSM++'s temporal
    coherence regulariser, each shape (T, T).

    For frames ``i, j`` at offset ``o = |i - j|``: inside the window
    (``o <= window_size``) ``R = 1 / (o**2 + 1)`` and ``L = 1``; outside it
    ``R = 1 - exp(-(o - window_size)**2 / temporal_balance)`` and ``L = 0``.
    """
    idx = torch.arange(num_frames, dtype=torch.float64)
    offset = (idx[:, None] - idx[None, :]).abs()
    inside = offset <= window_size
    far = 1 - torch.exp(-(offset - window_size)**2 / temporal_balance)
    targets = torch.where(inside, 1 / (offset**2 + 1), far)
    return targets.float(), inside.float()


def temporal_coherence_loss(frames: Tensor, window_size: int,
                            temporal_balance: float,
                            balance_coefficient: float) -> Tensor:
    """HyRSM++'s temporal coherence regulariser of a batch of videos.

    With ``D[i, j] = 1 - cos(f_i, f_j)`` between the frames of a video, the
    mean over all videos and frame pairs of
    ``L * R * D + balance_coefficient * (1 - L) * relu(R - D)``: frames
    inside the window are pulled together with weight R, frames outside it
    pushed at least R apart (:func:`temporal_coherence_targets`).

    Args:
        frames (Tensor): Frame features, shape (..., T, D).
        window_size (int): ``TRAIN.WINDOW_SIZE``.
        temporal_balance (float): ``TRAIN.TEMPORAL_BALANCE``.
        balance_coefficient (float): ``TRAIN.BALANCE_COEFFICIENT``.

    Returns:
        Tensor: A scalar.
    """
    unit = F.normalize(frames, dim=-1)
    dist = 1 - unit @ unit.transpose(-1, -2)
    targets, inside = temporal_coherence_targets(frames.shape[-2], window_size,
                                                 temporal_balance)
    targets, inside = targets.to(dist), inside.to(dist)
    return (dist * inside * targets + balance_coefficient *
            (1 - inside) * F.relu(targets - dist)).mean()


@MODELS.register_module()
class HyRSMHead(BaseFewShotHead):
    """Hybrid relation guided set matching: HyRSM (Wang et al., CVPR 2022)
    and HyRSM++ (Wang et al., 2023), as the released
    ``CNN_HyRSM_plusplus_1shot`` / ``_5shot`` heads compute them.

    1. Intra-relation, per video: the scaled position code, then pre-norm
       multi-head self-attention over the T frames (no FFN) and a ReLU.
    2. Inter-relation, per query: the set of the episode's support videos
       (``relation_set='videos'``, the released 1-shot head) or of the N
       class prototypes, means of the shots' frames
       (``relation_set='prototypes'``, the released 5-shot head), plus the
       query, each as its mean frame, goes through post-norm multi-head
       self-attention and a ReLU. Every frame of a member (and of the
       query) is concatenated with its set token and mapped back to D by a
       linear layer, so each query sees its own version of the supports.
    3. Set matching: the Bi-MHM distance (:func:`bimhm_distance`, sums over
       frames of the nearest-frame cosine distances, both ways) between the
       query and each member; a class's distance is the mean over its
       members; the logits are minus that, without temperature.

    Training adds, each under its own key and already weighted:

    - ``loss_class``: cross-entropy of a linear classifier over the
      training classes applied to every frame after the intra-relation,
      with the video's class id (support and query videos), times
      ``loss_class_weight`` (``TRAIN.USE_CLASSIFICATION_VALUE``); per
      frame as under ``TRAIN.USE_LOCAL: true``, which every released
      config sets (the released script cannot pair these per-frame logits
      with per-video labels otherwise);
    - ``loss_temporal``: the temporal coherence regulariser
      (:func:`temporal_coherence_loss`) of the final query-specific
      support (or prototype) features, each counted once per query, plus
      that of the final query features, times ``loss_temporal_weight``
      (``TRAIN.TEMPORAL_LOSS_WEIGHT``); HyRSM (v1) has none.

    The released script divides every term by its batch size 4 and
    accumulates 4 iterations on each of 4 GPUs: a step averages every
    term over 16 episodes, as mmfsar's ``train_cfg.episodes_per_step=16``
    does on any number of GPUs. The head keeps no state between calls; the
    cached evaluation stores the intra-relation output per video and runs the
    inter-relation per episode. With ``relation_set='videos'`` and K = 1,
    both variants give the same logits.

    Args:
        in_channels (int): D. Defaults to 2048 (ResNet-50).
        relation_set (str): ``'videos'`` or ``'prototypes'``. Defaults to
            ``'videos'``.
        num_heads (int): Heads of both relations (``TRAIN.HEAD``).
            Defaults to 8.
        position_encoding (bool): Use the position code; False is
            ``TRAIN.NO_POSITION``. Defaults to True.
        position_a (float): Features are multiplied by
            ``sqrt(D / position_a)`` before the code is added
            (``TRAIN.POSITION_A``). Defaults to 10.
        position_b (float): Weight of the code (``TRAIN.POSITION_B``).
            Defaults to 1.
        position_drop (float): Dropout after the position code.
            Defaults to 0.1.
        intra_drop (float): Dropout after the intra-relation's output
            projection. Defaults to 0.2.
        inter_attn_drop (float): Dropout on the inter-relation's attention
            probabilities. Defaults to 0.1.
        inter_drop (float): Dropout after the inter-relation's output
            projection. Defaults to 0.05.
        num_classes (int, optional): Training classes of the frame
            classifier (``TRAIN.NUM_CLASS``); None builds no classifier
            (``USE_CLASSIFICATION: false``). Defaults to None.
        loss_class_weight (float): Weight of ``loss_class``. Defaults to
            0.6.
        loss_temporal_weight (float): Weight of ``loss_temporal``; 0 leaves
            it out. Defaults to 0.3.
        window_size (int): ``TRAIN.WINDOW_SIZE``. Defaults to 1.
        temporal_balance (float): ``TRAIN.TEMPORAL_BALANCE``. Defaults to
            51.
        balance_coefficient (float): ``TRAIN.BALANCE_COEFFICIENT`` (the
            code's value when unset is 1). Defaults to 10.
        loss_cls (dict): Loss on the query logits.

    The loss defaults are the released SSv2-Full values.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 relation_set: str = 'videos',
                 num_heads: int = 8,
                 position_encoding: bool = True,
                 position_a: float = 10.,
                 position_b: float = 1.,
                 position_drop: float = 0.1,
                 intra_drop: float = 0.2,
                 inter_attn_drop: float = 0.1,
                 inter_drop: float = 0.05,
                 num_classes: Optional[int] = None,
                 loss_class_weight: float = 0.6,
                 loss_temporal_weight: float = 0.3,
                 window_size: int = 1,
                 temporal_balance: float = 51.,
                 balance_coefficient: float = 10.,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        if relation_set not in ('videos', 'prototypes'):
            raise ValueError("head.relation_set must be 'videos' or "
                             f"'prototypes', got {relation_set!r}.")
        self.in_channels = in_channels
        self.relation_set = relation_set
        self.num_classes = num_classes
        self.loss_class_weight = loss_class_weight
        self.loss_temporal_weight = loss_temporal_weight
        self.window_size = window_size
        self.temporal_balance = temporal_balance
        self.balance_coefficient = balance_coefficient
        self.position = ScaledPositionalEncoding(
            in_channels, position_a, position_b,
            position_drop) if position_encoding else nn.Identity()
        self.intra_relation = PreNormSelfAttention(in_channels, num_heads,
                                                   intra_drop)
        self.inter_relation = PostNormMultiHeadAttention(
            in_channels, num_heads, inter_attn_drop, inter_drop)
        self.fuse = nn.Linear(2 * in_channels, in_channels)
        self.class_head = nn.Linear(
            in_channels, num_classes) if num_classes is not None else None

    def encode(self, frames: Tensor) -> Tensor:
        """The intra-relation of every video, independently.

        Args:
            frames (Tensor): Frame features, shape (..., T, D).

        Returns:
            Tensor: Shape (..., T, D).
        """
        lead = frames.shape[:-2]
        x = frames.reshape(-1, *frames.shape[-2:])
        x = F.relu(self.intra_relation(self.position(x)))
        return x.view(*lead, *x.shape[-2:])

    def relate(self, support: Tensor, support_labels: Tensor, query: Tensor,
               num_ways: int) -> Tuple[Tensor, Tensor]:
        """The inter-relation: query-specific members and queries.

        Args:
            support (Tensor): Encoded support videos, shape (E, N*K, T, D).
            support_labels (Tensor): Shape (E, N*K).
            query (Tensor): Encoded queries, shape (E, N*Q, T, D).
            num_ways (int): N.

        Returns:
            tuple[Tensor, Tensor]: The members (support videos, or class
            prototypes in class order) as each query sees them, shape
            (E, N*Q, M, T, D), and the queries, shape (E, N*Q, T, D).
        """
        members = support if self.relation_set == 'videos' else class_mean(
            support, support_labels, num_ways)
        num_episodes, num_members = members.shape[:2]
        num_queries = query.shape[1]
        # One set per query: the mean frame of each member, then its own.
        member_means = members.mean(
            dim=2)[:, None].expand(-1, num_queries, -1, -1)
        sets = torch.cat([member_means,
                          query.mean(dim=2, keepdim=True)],
                         dim=2)
        sets = F.relu(self.inter_relation(sets.flatten(0, 1)))
        sets = sets.unflatten(0, (num_episodes, num_queries))
        member_tokens = sets[:, :, :num_members, None]
        query_tokens = sets[:, :, num_members:]
        # Each frame is concatenated with its video's set token.
        shape = (num_episodes, num_queries, *members.shape[1:])
        fused_members = self.fuse(
            torch.cat(
                [members[:, None].expand(shape),
                 member_tokens.expand(shape)],
                dim=-1))
        fused_query = self.fuse(
            torch.cat([query, query_tokens.expand_as(query)], dim=-1))
        return fused_members, fused_query

    def match(self, members: Tensor, query: Tensor, support_labels: Tensor,
              num_ways: int) -> Tensor:
        """Minus the mean Bi-MHM distance to each class's members.

        Args:
            members (Tensor): Shape (E, N*Q, M, T, D), from :meth:`relate`.
            query (Tensor): Shape (E, N*Q, T, D).
            support_labels (Tensor): Shape (E, N*K).
            num_ways (int): N.

        Returns:
            Tensor: Logits, shape (E, N*Q, N).
        """
        query_unit = F.normalize(query, dim=-1)[:, :, None]
        sims = query_unit @ F.normalize(members, dim=-1).transpose(-1, -2)
        dist = bimhm_distance(1 - sims)
        if self.relation_set == 'videos':
            dist = class_mean(dist.transpose(1, 2), support_labels,
                              num_ways).transpose(1, 2)
        return -dist

    def _logits(self, support: Tensor, support_labels: Tensor, query: Tensor,
                num_ways: int) -> Tuple[Tensor, Tensor, Tensor]:
        members, fused_query = self.relate(support, support_labels, query,
                                           num_ways)
        logits = self.match(members, fused_query, support_labels, num_ways)
        return logits, members, fused_query

    def forward(self,
                support: Tensor,
                support_labels: Tensor,
                query: Tensor,
                num_ways: int,
                support_text: Optional[Tensor] = None) -> Tensor:
        """Episode logits.

        Args:
            support (Tensor): Frame features, shape (E, N*K, T, D).
            support_labels (Tensor): Shape (E, N*K).
            query (Tensor): Shape (E, N*Q, T, D).
            num_ways (int): N.
            support_text: Unused.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        return self._logits(
            self.encode(support), support_labels, self.encode(query),
            num_ways)[0]

    def loss(self, support: Tensor, support_labels: Tensor, query: Tensor,
             query_labels: Tensor, num_ways: int,
             **extra) -> Dict[str, Tensor]:
        """``loss_fsl``, ``acc`` and the weighted ``loss_class`` (with a
        classifier) and ``loss_temporal`` (with a non-zero weight).

        Args:
            support, support_labels, query, query_labels, num_ways: As in
                ``BaseFewShotHead.loss``.
            **extra: ``support_class_ids`` (E, N*K), ``query_class_ids``
                (E, N*Q) and ``num_classes`` for ``loss_class``.
        """
        support, query = self.encode(support), self.encode(query)
        logits, members, fused_query = self._logits(support, support_labels,
                                                    query, num_ways)
        losses = self.fsl_losses(logits, query_labels)
        if self.class_head is not None and self.loss_class_weight:
            class_ids = episode_class_ids(extra, self.num_classes)
            frame_logits = self.class_head(torch.cat([support, query], dim=1))
            targets = class_ids[:, :, None].expand(frame_logits.shape[:-1])
            losses['loss_class'] = self.loss_class_weight * F.cross_entropy(
                frame_logits.flatten(0, -2), targets.flatten())
        if self.loss_temporal_weight:
            regularise = [
                temporal_coherence_loss(frames, self.window_size,
                                        self.temporal_balance,
                                        self.balance_coefficient)
                for frames in (members, fused_query)
            ]
            losses['loss_temporal'] = self.loss_temporal_weight * sum(
                regularise)
        return losses

    def video_tokens(self,
                     feats: Tensor,
                     text: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The intra-relation of each video, shape (V, T, D)."""
        return dict(frames=self.encode(feats))

    def episode_logits(self, tokens: Dict[str, Tensor], support: Tensor,
                       support_labels: Tensor, query: Tensor,
                       num_ways: int) -> Tensor:
        """The inter-relation and set matching of each episode, from the
        cached intra-relation outputs; equal to :meth:`forward`."""
        frames = tokens['frames']
        return self._logits(frames[support], support_labels, frames[query],
                            num_ways)[0]
