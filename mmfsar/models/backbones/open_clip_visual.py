# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Optional

import torch
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor

from ..utils.grad_checkpoint import checkpoint_block
from ..utils.open_clip_builder import (build_clip_model, check_clip_args,
                                       clip_embed_dim, load_clip_pretrained,
                                       resolve_quick_gelu)
from ..utils.stages import eval_batchnorms, freeze_stages


@MODELS.register_module()
class OpenCLIPVisual(BaseModule):
    """The image tower of an open_clip CLIP model, applied to every frame.

    The released CLIP-FSAR fine-tunes the whole visual encoder in fp32, with
    RN50 BatchNorm in train mode; that is the default here.

    Args:
        model_name (str): open_clip model name, e.g. ``'RN50'`` (D = 1024)
            or ``'ViT-B-16'`` (D = 512).
        pretrained (str, optional): An open_clip pretrained tag such as
            ``'openai'``, or a local file (state dict, ``.safetensors`` or
            OpenAI TorchScript archive), loaded by ``init_weights()``. None
            keeps random weights. Defaults to None.
        model_cfg (dict, optional): Explicit open_clip model config instead
            of a built-in one (tiny test models). Defaults to None.
        quick_gelu (bool, optional): QuickGELU activations; None picks what
            the pretrained tag (or OpenAI archive) was trained with.
            Defaults to None.
        frozen_stages (int): Freeze the stem and this many stages (ResNet
            layers or ViT blocks); -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Keep BatchNorm in eval mode while training.
            Defaults to False (the released recipe).
        with_cp (bool): Gradient checkpointing. Defaults to False.
        cache_dir (str, optional): Download cache for tags (passed to the
            Hugging Face hub). Defaults to None (its default cache).
    """

    def __init__(self,
                 model_name: str,
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 quick_gelu: Optional[bool] = None,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 cache_dir: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_clip_args(model_name, pretrained, model_cfg, 'backbone')
        self.model_name = model_name
        self.pretrained = pretrained
        self.model_cfg = model_cfg
        self.quick_gelu = resolve_quick_gelu(model_name, pretrained,
                                             quick_gelu)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.cache_dir = cache_dir
        clip = build_clip_model(model_name, model_cfg, self.quick_gelu)
        self.visual = clip.visual
        self.is_resnet = hasattr(self.visual, 'layer1')
        self.out_channels = clip_embed_dim(clip)
        del clip
        self.with_cp = False
        self.set_grad_checkpointing(with_cp)
        self._freeze_stages()

    def init_weights(self) -> None:
        """Load the pretrained CLIP image tower, if one is configured."""
        if self.pretrained is None:
            return
        state = load_clip_pretrained(self.model_name, self.pretrained,
                                     self.model_cfg, self.quick_gelu,
                                     self.cache_dir, 'backbone')
        visual = {
            k[len('visual.'):]: v
            for k, v in state.items() if k.startswith('visual.')
        }
        self.visual.load_state_dict(visual, strict=True)
        MMLogger.get_current_instance().info(
            f'Loaded the CLIP image tower of {self.model_name} from '
            f'{self.pretrained!r}.')

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute activations in backward to save memory."""
        self.with_cp = enable
        if not self.is_resnet:
            self.visual.set_grad_checkpointing(enable)

    def _stages(self) -> list:
        if self.is_resnet:
            v = self.visual
            stem = [v.conv1, v.bn1, v.conv2, v.bn2, v.conv3, v.bn3]
            return [stem, v.layer1, v.layer2, v.layer3, v.layer4]
        v = self.visual
        stem = [v.conv1, v.ln_pre]
        return [stem, *v.transformer.resblocks]

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0 and not self.is_resnet:
            self.visual.class_embedding.requires_grad = False
            self.visual.positional_embedding.requires_grad = False
        freeze_stages(self._stages(), self.frozen_stages, self.model_name)

    def train(self, mode: bool = True) -> 'OpenCLIPVisual':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batchnorms(self)
        return self

    def _resnet_forward(self, x: Tensor) -> Tensor:
        v = self.visual
        x = v.stem(x)
        use_cp = self.with_cp and torch.is_grad_enabled()
        for layer in (v.layer1, v.layer2, v.layer3, v.layer4):
            for block in layer:
                x = checkpoint_block(block, x) if use_cp else block(x)
        return v.attnpool(x)

    def forward(self,
                frames: Tensor,
                num_frames: Optional[int] = None) -> Tensor:
        """Encode frames independently.

        Args:
            frames (Tensor): Shape (B, T, 3, H, W), or (B*T, 3, H, W) with
                ``num_frames`` = T.
            num_frames (int, optional): T for flat input. Defaults to None.

        Returns:
            Tensor: Per-frame features, not normalised, shape (B, T, D).
        """
        if frames.dim() == 5:
            num_frames = frames.shape[1]
            frames = frames.flatten(0, 1)
        elif num_frames is None:
            raise ValueError('OpenCLIPVisual needs `num_frames` for input '
                             f'of shape {tuple(frames.shape)}.')
        if self.is_resnet:
            feats = self._resnet_forward(frames)
        else:
            feats = self.visual(frames)
        return feats.view(-1, num_frames, feats.shape[-1])
