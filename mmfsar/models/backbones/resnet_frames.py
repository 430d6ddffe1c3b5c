# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp
from typing import Optional

import torch
import torchvision
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor

from ..utils.grad_checkpoint import checkpoint_block
from ..utils.stages import eval_batchnorms, freeze_stages

_DEPTHS = {18: 512, 34: 512, 50: 2048, 101: 2048, 152: 2048}


@MODELS.register_module()
class ResNetFrames(BaseModule):
    """A torchvision ResNet applied to every frame: the ImageNet backbone of
    the released few-shot baselines (OTAM, TRX, TSN, CrossTransformer,
    HyRSM++, MoLo).

    The classifier is dropped. Each frame gives the global average of the
    last stage's map, ``(D, )``, or with ``spatial=True`` the map itself,
    ``(D, H/32, W/32)`` (MoLo builds its motion features from it). As in
    the released code, BatchNorm is in train mode while training and the
    whole network is fine-tuned, unless ``norm_eval`` / ``frozen_stages``
    say otherwise.

    Args:
        depth (int): 18, 34, 50, 101 or 152. Defaults to 50 (D = 2048).
        pretrained (str, optional): ImageNet weights: the name of a
            torchvision weights entry such as ``'IMAGENET1K_V1'`` (the
            released baselines' weights; downloaded once into torch's hub
            cache, ``$TORCH_HOME/hub/checkpoints``, which can be filled by
            hand for offline machines), or the path of a local torchvision
            state dict (loaded with ``weights_only=True``; the ``fc`` keys
            are ignored). None keeps random weights. Loaded by
            ``init_weights()``. Defaults to None.
        spatial (bool): Return per-frame maps instead of pooled features.
            Defaults to False.
        frozen_stages (int): Freeze the stem and this many of the four
            stages; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep BatchNorm in eval mode while training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing of every residual block
            (BatchNorm statistics are updated once). Defaults to False.
    """

    def __init__(self,
                 depth: int = 50,
                 pretrained: Optional[str] = None,
                 spatial: bool = False,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in _DEPTHS:
            raise ValueError(f'backbone.depth={depth} is not one of '
                             f'{sorted(_DEPTHS)}.')
        self.depth = depth
        self.pretrained = pretrained
        self.spatial = spatial
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.out_channels = _DEPTHS[depth]
        self._check_pretrained()
        net = getattr(torchvision.models, f'resnet{depth}')(weights=None)
        self.conv1, self.bn1, self.relu = net.conv1, net.bn1, net.relu
        self.maxpool = net.maxpool
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.layer3, self.layer4 = net.layer3, net.layer4
        self._freeze_stages()

    def _weights_enum(self):
        return torchvision.models.get_model_weights(f'resnet{self.depth}')

    def _check_pretrained(self) -> None:
        """Fail at construction, naming the key, on a name torchvision does
        not know or a path that does not exist."""
        if self.pretrained is None:
            return
        names = [w.name for w in self._weights_enum()]
        if self.pretrained in names:
            return
        if not osp.isfile(self.pretrained):
            raise FileNotFoundError(
                f'backbone.pretrained={self.pretrained!r} is neither a '
                f'torchvision weights name of resnet{self.depth} ({names}) '
                'nor an existing file.')

    def init_weights(self) -> None:
        """Load the ImageNet weights, if configured, strictly."""
        if self.pretrained is None:
            return
        weights = self._weights_enum()
        if self.pretrained in [w.name for w in weights]:
            state = weights[self.pretrained].get_state_dict(progress=False)
        else:
            state = torch.load(
                self.pretrained, map_location='cpu', weights_only=True)
            state = state.get('state_dict', state)
        state = {k: v for k, v in state.items() if not k.startswith('fc.')}
        missing, unexpected = self.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f'backbone.pretrained={self.pretrained!r} does not fit '
                f'resnet{self.depth}: missing keys {missing[:5]}, unexpected '
                f'keys {unexpected[:5]}.')
        MMLogger.get_current_instance().info(
            f'Loaded resnet{self.depth} weights from {self.pretrained!r}.')

    def _stages(self) -> list:
        return [[self.conv1, self.bn1], self.layer1, self.layer2, self.layer3,
                self.layer4]

    def _freeze_stages(self) -> None:
        freeze_stages(self._stages(), self.frozen_stages,
                      f'resnet{self.depth}')

    def train(self, mode: bool = True) -> 'ResNetFrames':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batchnorms(self)
        return self

    def forward(self, frames: Tensor) -> Tensor:
        """Encode frames independently.

        Args:
            frames (Tensor): Shape (B, T, 3, H, W).

        Returns:
            Tensor: Shape (B, T, D), or (B, T, D, H/32, W/32) with
            ``spatial``.
        """
        num_videos, num_frames = frames.shape[:2]
        x = self.maxpool(self.relu(self.bn1(self.conv1(frames.flatten(0, 1)))))
        use_cp = self.with_cp and torch.is_grad_enabled()
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in layer:
                x = checkpoint_block(block, x) if use_cp else block(x)
        if not self.spatial:
            x = x.mean(dim=(-2, -1))
        return x.view(num_videos, num_frames, *x.shape[1:])
