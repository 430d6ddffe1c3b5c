# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Optional, Sequence

import open_clip
import torch
from mmaction.registry import MODELS
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils.open_clip_builder import (build_clip_model, check_clip_args,
                                       load_clip_pretrained,
                                       resolve_quick_gelu)


def freeze_as_buffers(module: nn.Module) -> None:
    """Turn every parameter of ``module`` into a buffer of the same name."""
    for sub in module.modules():
        for name, param in list(sub._parameters.items()):
            if param is None:
                continue
            del sub._parameters[name]
            sub.register_buffer(name, param.detach())


@MODELS.register_module()
class OpenCLIPTextEncoder(BaseModule):
    """The frozen text tower of an open_clip CLIP model.

    Class names are filled into ``prompt`` and encoded once, under no_grad.
    The tower is never trained: its weights are stored as buffers, not
    parameters, so no optimizer, DDP or parameter count ever sees them, and
    it stays in eval mode. They are still part of the recognizer's state
    dict, so a trained checkpoint carries everything needed to encode new
    class names at test time without downloading CLIP.

    Args:
        model_name (str): open_clip model name; must match the backbone.
        pretrained (str, optional): open_clip tag or local file (state
            dict, ``.safetensors`` or OpenAI TorchScript archive), loaded by
            ``init_weights()``. Defaults to None.
        model_cfg (dict, optional): Explicit open_clip model config.
            Defaults to None.
        quick_gelu (bool, optional): None picks the tag's (or OpenAI
            archive's) setting.
        prompt (str): Format string for a class name. Defaults to
            ``'a photo of {}'`` (the released code).
        cache_dir (str, optional): Download cache for tags.
    """

    def __init__(self,
                 model_name: str,
                 pretrained: Optional[str] = None,
                 model_cfg: Optional[dict] = None,
                 quick_gelu: Optional[bool] = None,
                 prompt: str = 'a photo of {}',
                 cache_dir: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        check_clip_args(model_name, pretrained, model_cfg, 'text_encoder')
        if '{}' not in prompt:
            raise ValueError(f'text_encoder.prompt={prompt!r} has no "{{}}" '
                             'placeholder for the class name.')
        self.model_name = model_name
        self.pretrained = pretrained
        self.model_cfg = model_cfg
        self.quick_gelu = resolve_quick_gelu(model_name, pretrained,
                                             quick_gelu)
        self.prompt = prompt
        self.cache_dir = cache_dir
        clip = build_clip_model(model_name, model_cfg, self.quick_gelu)
        # Keep only what encode_text uses: the image tower is the backbone's.
        clip.visual = nn.Identity()
        self.clip = clip
        if model_cfg is None:
            self.tokenizer = open_clip.get_tokenizer(model_name)
        else:
            context = model_cfg.get('text_cfg', {}).get('context_length', 77)
            self.tokenizer = open_clip.SimpleTokenizer(context_length=context)
        freeze_as_buffers(self.clip)
        self.clip.eval()

    @property
    def device(self) -> torch.device:
        """Where the (buffer) weights of the tower live."""
        return next(self.clip.buffers()).device

    @property
    def out_channels(self) -> int:
        """Dimension D of the text features."""
        proj = self.clip.text_projection
        if isinstance(proj, torch.Tensor):
            return proj.shape[-1]
        return proj.out_features

    def init_weights(self) -> None:
        """Load the pretrained CLIP text tower, if one is configured."""
        if self.pretrained is None:
            return
        state = load_clip_pretrained(self.model_name, self.pretrained,
                                     self.model_cfg, self.quick_gelu,
                                     self.cache_dir, 'text_encoder')
        text = {k: v for k, v in state.items() if not k.startswith('visual.')}
        self.clip.load_state_dict(text, strict=True)
        MMLogger.get_current_instance().info(
            f'Loaded the CLIP text tower of {self.model_name} from '
            f'{self.pretrained!r}.')

    def train(self, mode: bool = True) -> 'OpenCLIPTextEncoder':
        super().train(mode)
        self.clip.eval()
        return self

    def prompts(self, class_names: Sequence[str]) -> list:
        """The prompt strings for ``class_names``."""
        return [self.prompt.format(name) for name in class_names]

    @torch.no_grad()
    def forward(self, class_names: Sequence[str]) -> Tensor:
        """Encode class names.

        Args:
            class_names (Sequence[str]): C class names.

        Returns:
            Tensor: Text features, not normalised, shape (C, D).
        """
        device = self.device
        tokens = self.tokenizer(self.prompts(class_names)).to(device)
        return self.clip.encode_text(tokens).float()
