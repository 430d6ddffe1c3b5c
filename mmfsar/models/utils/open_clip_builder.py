# Copyright (c) mmfsar contributors. All rights reserved.
"""Build open_clip models from a model name or an explicit config.

Weights are never loaded at construction: a model is built with random
weights and :func:`load_clip_pretrained` fills it in ``init_weights()``, the
mmengine convention. So a trained mmfsar checkpoint can be tested on a
machine that cannot download the CLIP weights.
"""
import os.path as osp
from typing import Optional

import open_clip
from torch import nn

_WEIGHT_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')


def _known_tags(model_name: str) -> list:
    return open_clip.list_pretrained_tags_by_model(model_name)


def resolve_quick_gelu(model_name: str, pretrained: Optional[str],
                       quick_gelu: Optional[bool]) -> bool:
    """QuickGELU must match the weights (OpenAI CLIP was trained with it).

    ``quick_gelu=None`` reads it from the open_clip tag's metadata, a local
    lookup that needs no network.
    """
    if quick_gelu is not None:
        return quick_gelu
    if pretrained and pretrained in _known_tags(model_name):
        cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
        return bool(cfg.get('quick_gelu', False))
    return False


def check_clip_args(model_name: str, pretrained: Optional[str],
                    model_cfg: Optional[dict], owner: str) -> None:
    """Fail early, naming the config key, on a model name or tag that
    open_clip does not know."""
    if model_cfg is None and model_name not in open_clip.list_models():
        raise ValueError(
            f'{owner}.model_name={model_name!r} is not an open_clip model '
            f'name; known names include {open_clip.list_models()[:12]} ... '
            f'(see open_clip.list_models()), or give `model_cfg`.')
    if pretrained is None:
        return
    is_path = (
        osp.sep in pretrained or pretrained.endswith(_WEIGHT_SUFFIXES)
        or osp.exists(pretrained))
    if is_path:
        return
    tags = [] if model_cfg is not None else _known_tags(model_name)
    if pretrained not in tags:
        raise ValueError(
            f'{owner}.pretrained={pretrained!r} is neither a pretrained tag '
            f'of open_clip model {model_name!r} (known tags: {tags}) nor a '
            'path to a local checkpoint file.')


def build_clip_model(model_name: str,
                     model_cfg: Optional[dict] = None,
                     quick_gelu: bool = False) -> nn.Module:
    """Build an open_clip CLIP model with random weights.

    Args:
        model_name (str): An open_clip model name such as ``'ViT-B-16'``;
            only used to name the model when ``model_cfg`` is given.
        model_cfg (dict, optional): An explicit open_clip model config
            (``embed_dim``, ``vision_cfg``, ``text_cfg``), e.g. a tiny model
            for tests. Defaults to None (use the named built-in config).
        quick_gelu (bool): Use QuickGELU activations. Defaults to False.
    """
    if model_cfg is None:
        return open_clip.create_model(
            model_name, pretrained=None, force_quick_gelu=quick_gelu)
    cfg = dict(model_cfg)
    cfg['quick_gelu'] = quick_gelu or cfg.get('quick_gelu', False)
    if cfg.pop('custom_text', False):
        return open_clip.CustomTextCLIP(**cfg)
    return open_clip.CLIP(**cfg)


def clip_embed_dim(clip: nn.Module) -> int:
    """The joint embedding dimension D of an open_clip model."""
    visual = clip.visual
    if getattr(visual, 'output_dim', None):
        return int(visual.output_dim)
    return int(visual.proj.shape[-1])


def load_clip_pretrained(model_name: str,
                         pretrained: str,
                         model_cfg: Optional[dict] = None,
                         quick_gelu: bool = False,
                         cache_dir: Optional[str] = None) -> dict:
    """Return the full CLIP state dict for a tag or a local checkpoint.

    Tags go through open_clip's own download and conversion path; a local
    file must exist.
    """
    is_tag = model_cfg is None and pretrained in _known_tags(model_name)
    if not is_tag and not osp.isfile(pretrained):
        raise FileNotFoundError(
            f'CLIP checkpoint {pretrained!r} does not exist (and is not an '
            f'open_clip tag of {model_name!r}).')
    if model_cfg is None:
        model = open_clip.create_model(
            model_name,
            pretrained=pretrained,
            force_quick_gelu=quick_gelu,
            cache_dir=cache_dir)
    else:
        model = build_clip_model(model_name, model_cfg, quick_gelu)
        open_clip.load_checkpoint(model, pretrained)
    return model.state_dict()
