# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Optional

from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from torch import Tensor

from ..utils.otam import cross_cosine_similarity_eps, otam_distance
from .base_few_shot_head import BaseFewShotHead, class_mean


@MODELS.register_module()
class OTAMHead(BaseFewShotHead):
    """Ordered temporal alignment (OTAM, Cao et al., CVPR 2020), as the
    CLIP-FSAR authors' ``CNN_OTAM`` baseline computes it.

    Frame distances ``1 - cos`` (with ``eps`` added to the product of norms)
    between a query and a support video are aligned in temporal order by
    the soft-min dynamic program of :func:`otam_distance`, in both
    directions summed; a class's distance is the mean over its support
    videos, and the logits are minus that distance, without temperature.
    The head has no parameters.

    Args:
        lbda (float): Soft-min temperature. Defaults to 0.1 (``CNN_OTAM``;
            CLIP-FSAR's own matching uses 0.5).
        bidirectional (bool): Sum the query-to-support and
            support-to-query alignments. Defaults to True.
        eps (float): Added to the product of norms in the cosine.
            Defaults to 0.01.
        loss_cls (dict): Loss on the query logits.
    """

    def __init__(self,
                 lbda: float = 0.1,
                 bidirectional: bool = True,
                 eps: float = 0.01,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        self.lbda = lbda
        self.bidirectional = bidirectional
        self.eps = eps

    def video_distances(self, support: Tensor, query: Tensor) -> Tensor:
        """OTAM distance of every query to every support video.

        Args:
            support (Tensor): Shape (E, S, T, D).
            query (Tensor): Shape (E, N*Q, T, D).

        Returns:
            Tensor: Shape (E, N*Q, S).
        """
        sims = cross_cosine_similarity_eps(query, support, self.eps)
        return otam_distance(1 - sims, self.lbda, self.bidirectional)

    def forward(self,
                support: Tensor,
                support_labels: Tensor,
                query: Tensor,
                num_ways: int,
                support_text: Optional[Tensor] = None) -> Tensor:
        """Minus the mean OTAM distance to each class's support videos.

        Args:
            support (Tensor): Shape (E, N*K, T, D).
            support_labels (Tensor): Shape (E, N*K).
            query (Tensor): Shape (E, N*Q, T, D).
            num_ways (int): N.
            support_text: Unused.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        dist = self.video_distances(support, query)
        per_class = class_mean(dist.transpose(1, 2), support_labels, num_ways)
        return -per_class.transpose(1, 2)
