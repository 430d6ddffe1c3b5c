# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, Optional

from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from torch import Tensor

from ..utils.otam import cosine_similarity_eps
from .base_few_shot_head import VideoTokenHead, class_mean


@MODELS.register_module()
class FewShotTSNHead(VideoTokenHead):
    """The frame-mean baseline (TSN), as the CLIP-FSAR authors'
    ``CNN_TSN`` computes it. (MMAction2's ``TSNHead`` is the supervised
    classifier, hence the name.)

    Each video is the mean of its frame features. A query's logit for a
    class is its cosine similarity (with ``eps`` added to the product of
    norms) to each of the class's support videos, averaged over the shots:
    a mean of similarities, not a similarity to a mean prototype. There is
    no temperature, so the logits lie in about [-1, 1] and the
    cross-entropy cannot approach 0. The head has no parameters and
    ignores the order of frames.

    Args:
        eps (float): Added to the product of norms in the cosine.
            Defaults to 0.01.
        loss_cls (dict): Loss on the query logits.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 eps: float = 0.01,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        self.eps = eps

    def tokens(self, feats: Tensor) -> Dict[str, Tensor]:
        """Each video's frame mean.

        Args:
            feats (Tensor): Shape (V, T, D).

        Returns:
            dict[str, Tensor]: ``mean``, shape (V, D).
        """
        return dict(mean=feats.mean(dim=1))

    def logits_from_tokens(self, support: Dict[str,
                                               Tensor], support_labels: Tensor,
                           query: Dict[str, Tensor], num_ways: int) -> Tensor:
        """Mean cosine similarity of frame means to each class's shots.

        Args:
            support (dict[str, Tensor]): ``mean`` (E, N*K, D).
            support_labels (Tensor): Shape (E, N*K).
            query (dict[str, Tensor]): ``mean`` (E, N*Q, D).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        sims = cosine_similarity_eps(query['mean'], support['mean'], self.eps)
        return class_mean(sims.transpose(1, 2), support_labels,
                          num_ways).transpose(1, 2)
