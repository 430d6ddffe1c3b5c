# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from mmengine.logging import print_log
from torch import Tensor, nn

from .base_few_shot_head import VideoTokenHead, group_by_class


@MODELS.register_module()
class CrossTransformerHead(VideoTokenHead):
    """CrossTransformer over frames, as the CLIP-FSAR authors'
    ``CNN_CrossTransformer`` computes it.

    Frames are projected by a shared key/query projection and a value
    projection (bias-free). Each query frame attends, with a softmax
    scaled by ``1/sqrt(H)``, over all frames of all shots of a class; the
    attended support values are the query-aligned prototype. The logit is
    the cosine similarity of the query's values and that prototype,
    averaged over frames: a similarity in [-1, 1], without temperature.

    Unlike the released code, the way and shot come from the episode (the
    released view by the configured ``TRAIN.WAY`` / ``TRAIN.SHOT`` mixes
    frames and channels when a test episode has another shot count), the
    frame average divides by T (the released code divides by 8, the same
    for T=8), and D is configurable. The projections keep the released
    names and shapes (1x1 ``Conv1d``); a released checkpoint's
    ``query_head`` (the same module as ``key_head`` there) is accepted
    and dropped.

    Args:
        in_channels (int): Frame feature dimension D. Defaults to 2048
            (ResNet-50).
        hidden_channels (int): Key and value dimension H. Defaults to 1024.
        loss_cls (dict): Loss on the query logits.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 hidden_channels: int = 1024,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.key_head = nn.Conv1d(in_channels, hidden_channels, 1, bias=False)
        self.value_head = nn.Conv1d(
            in_channels, hidden_channels, 1, bias=False)

    def tokens(self, feats: Tensor) -> Dict[str, Tensor]:
        """Every video's frame keys (also its query projection) and values.

        Args:
            feats (Tensor): Frame features, shape (V, T, D).

        Returns:
            dict[str, Tensor]: ``keys`` and ``values``, each (V, T, H).
        """
        if feats.dim() != 3:
            raise ValueError('CrossTransformerHead takes frame features '
                             f'(V, T, D), got shape {tuple(feats.shape)}.')
        x = feats.transpose(1, 2)
        return dict(
            keys=self.key_head(x).transpose(1, 2),
            values=self.value_head(x).transpose(1, 2))

    def logits_from_tokens(self, support: Dict[str,
                                               Tensor], support_labels: Tensor,
                           query: Dict[str, Tensor], num_ways: int) -> Tensor:
        """Mean per-frame cosine similarity of each query to its
        query-aligned class prototypes.

        Args:
            support (dict[str, Tensor]): :meth:`tokens` of the support
                videos, each of shape (E, N*K, T, H); every class of an
                episode has the same number of shots.
            support_labels (Tensor): Shape (E, N*K).
            query (dict[str, Tensor]): :meth:`tokens` of the queries, each
                of shape (E, N*Q, T, H).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        keys, values = (
            group_by_class(support[k], support_labels, num_ways).flatten(2, 3)
            for k in ('keys', 'values'))
        scores = torch.einsum('eqth,envh->eqntv', query['keys'],
                              keys) * self.hidden_channels**-0.5
        protos = torch.einsum('eqntv,envh->eqnth', scores.softmax(dim=-1),
                              values)
        sims = (F.normalize(query['values'], dim=-1).unsqueeze(2) *
                F.normalize(protos, dim=-1)).sum(dim=-1)
        return sims.mean(dim=-1)

    def elements_per_episode(self, num_support: int, num_query: int,
                             shapes: Dict[str, torch.Size]) -> int:
        """The prototypes, (N*Q, N, T, H), at most N*Q x N*K x T x H."""
        return num_query * num_support * shapes['keys'].numel()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Accept weights saved by the released code, whose ``query_head``
        is ``key_head`` under a second name: the copy is dropped (and
        logged) if it equals ``key_head.weight``, refused otherwise."""
        alias = state_dict.pop(prefix + 'query_head.weight', None)
        if alias is not None:
            key = state_dict.get(prefix + 'key_head.weight')
            if key is None or not torch.equal(alias, key):
                raise ValueError(
                    f'Checkpoint key {prefix}query_head.weight differs from '
                    f'{prefix}key_head.weight; CrossTransformerHead shares '
                    'one projection for queries and keys.')
            print_log(
                f'Ignored {prefix}query_head.weight, the released '
                'CrossTransformer\'s second name for key_head.weight.',
                logger='current')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
