# Copyright (c) mmfsar contributors. All rights reserved.
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import Tensor, nn

from ..utils.otam import cosine_similarity_eps


@MODELS.register_module()
class VideoTextLoss(nn.Module):
    """CLIP-FSAR's video-text loss.

    Cross-entropy of ``scale * cos(v, t_c)`` over all training classes, where
    ``v`` is a video's mean frame feature before the temporal Transformer and
    ``cos`` adds ``eps`` to the product of norms. ``scale`` is learnable,
    initialised to 1 as in the released code (CLIP's own logit scale is not
    used).

    Args:
        loss_weight (float): w in ``L = L_fsl + w * L_text``: 3.0 for SSv2,
            1.5 for Kinetics-100 and UCF101, 1.2 for HMDB51. Defaults to 1.0.
        init_scale (float): Initial value of the learnable scale.
            Defaults to 1.0.
        eps (float): Added to the product of norms. Defaults to 0.01.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 init_scale: float = 1.0,
                 eps: float = 0.01) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps
        self.scale = nn.Parameter(torch.tensor(float(init_scale)))

    def logits(self, video_feats: Tensor, text_bank: Tensor) -> Tensor:
        """``scale * cos`` of shape (V, C) for video features (V, D) and
        class texts (C, D)."""
        return self.scale * cosine_similarity_eps(
            video_feats, text_bank.to(video_feats.dtype), self.eps)

    def forward(self, video_feats: Tensor, text_bank: Tensor,
                class_ids: Tensor) -> Tensor:
        """Weighted loss.

        Args:
            video_feats (Tensor): Mean frame features, shape (V, D).
            text_bank (Tensor): Training-class text features, shape (C, D).
            class_ids (Tensor): Global class id of each video, shape (V,).
        """
        logits = self.logits(video_feats, text_bank)
        return self.loss_weight * F.cross_entropy(logits, class_ids)
