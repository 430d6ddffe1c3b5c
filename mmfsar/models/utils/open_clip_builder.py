# Copyright (c) mmfsar contributors. All rights reserved.
"""Build open_clip models from a model name or an explicit config.

Weights are never loaded at construction: a model is built with random
weights and :func:`load_clip_pretrained` fills it in ``init_weights()``, the
mmengine convention. So a trained mmfsar checkpoint can be tested on a
machine that cannot download the CLIP weights.

The weights come as an open_clip tag or a local file in any of the forms
CLIP is distributed in (see :func:`load_clip_pretrained`).
"""
import os.path as osp
import pickle
import warnings
import zipfile
from typing import Dict, Optional

import open_clip
import torch
from open_clip.model import resize_pos_embed
from torch import nn

_WEIGHT_SUFFIXES = ('.pt', '.pth', '.bin', '.safetensors', '.ckpt')
# Entries of an OpenAI TorchScript archive that are not weights.
_OPENAI_EXTRA_KEYS = ('input_resolution', 'context_length', 'vocab_size')


def _known_tags(model_name: str) -> list:
    return open_clip.list_pretrained_tags_by_model(model_name)


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript archive (``torch.jit.save``), the
    form in which OpenAI's CLIP code downloads its weights (e.g.
    ``~/.cache/clip/ViT-B-16.pt``).

    A TorchScript zip holds ``constants.pkl`` and compiled ``code/``; a
    ``torch.save`` zip does not.
    """
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name == 'constants.pkl' or name.endswith('/constants.pkl')
                   for name in archive.namelist())


def _config_key(owner: str) -> str:
    return f'model.{owner}.pretrained'


def _offline_hint(model_name: str) -> str:
    return (
        'Without network access, set HF_HUB_OFFLINE=1 and keep the weights '
        'in the Hugging Face cache (HF_HOME, or the `cache_dir` key), or '
        'point `pretrained` at a local file: a state dict, a .safetensors '
        'file or an OpenAI TorchScript archive such as '
        f'~/.cache/clip/{model_name}.pt.')


def resolve_quick_gelu(model_name: str, pretrained: Optional[str],
                       quick_gelu: Optional[bool]) -> bool:
    """QuickGELU must match the weights (OpenAI CLIP was trained with it).

    ``quick_gelu=None`` reads it from the open_clip tag's metadata (a local
    lookup that needs no network), and is True for an OpenAI TorchScript
    archive; other files default to False.
    """
    if quick_gelu is not None:
        return quick_gelu
    if pretrained and pretrained in _known_tags(model_name):
        cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
        return bool(cfg.get('quick_gelu', False))
    if pretrained and osp.isfile(pretrained):
        return is_torchscript_archive(pretrained)
    return False


def check_clip_args(model_name: str, pretrained: Optional[str],
                    model_cfg: Optional[dict], owner: str) -> None:
    """Fail early, naming the config key, on a model name or tag that
    open_clip does not know.

    A path is only checked when the weights load (``init_weights()``), so
    a trained checkpoint can be built and tested without the CLIP file.
    """
    if model_cfg is None and model_name not in open_clip.list_models():
        raise ValueError(
            f'model.{owner}.model_name={model_name!r} is not an open_clip '
            f'model name; known names include {open_clip.list_models()[:12]}'
            ' ... (see open_clip.list_models()), or give `model_cfg`.')
    if pretrained is None or _is_path(pretrained):
        return
    tags = [] if model_cfg is not None else _known_tags(model_name)
    if pretrained not in tags:
        raise ValueError(
            f'{_config_key(owner)}={pretrained!r} is neither a pretrained '
            f'tag of open_clip model {model_name!r} (known tags: {tags}) nor '
            'a path to a local checkpoint file.')


def _is_path(pretrained: str) -> bool:
    return (osp.sep in pretrained or pretrained.endswith(_WEIGHT_SUFFIXES)
            or osp.exists(pretrained))


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
    """The joint embedding dimension D of an open_clip CLIP model."""
    visual = clip.visual
    if getattr(visual, 'output_dim', None):
        return int(visual.output_dim)
    return int(visual.proj.shape[-1])


def load_torchscript_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The CLIP weights of an OpenAI TorchScript archive, as fp32.

    The archive's compiled code is loaded by ``torch.jit.load`` but never
    run: only its tensors are read. TorchScript deserialisation rebuilds
    tensors and compiled graphs, not arbitrary pickled Python objects, so
    this is not the unpickling that ``weights_only=True`` guards against;
    it is still only done for a file the user named in the config.

    Args:
        path (str): E.g. ``~/.cache/clip/ViT-B-16.pt`` as OpenAI's ``clip``
            package caches it.

    Returns:
        dict[str, Tensor]: open_clip ``CLIP`` state dict (the OpenAI key
        layout), without the archive's ``input_resolution``,
        ``context_length`` and ``vocab_size`` entries.
    """
    archive = torch.jit.load(path, map_location='cpu')
    state = {k: v.float() for k, v in archive.state_dict().items()}
    for key in _OPENAI_EXTRA_KEYS:
        state.pop(key, None)
    return state


def load_clip_pretrained(model_name: str,
                         pretrained: str,
                         model_cfg: Optional[dict] = None,
                         quick_gelu: bool = False,
                         cache_dir: Optional[str] = None,
                         owner: str = 'backbone') -> dict:
    """Return the full CLIP state dict for a tag or a local checkpoint.

    ``pretrained`` may be:

    - an open_clip tag (``'openai'``, ``'laion2b_s34b_b88k'``), fetched
      through open_clip's download path and cache (``cache_dir``; the
      Hugging Face cache and ``HF_HUB_OFFLINE=1`` work as usual);
    - a state dict saved with ``torch.save`` (``.pt``, ``.pth``, ``.bin``,
      ``.ckpt``; plain or under ``'state_dict'``), read with
      ``weights_only=True``;
    - a ``.safetensors`` file;
    - an OpenAI TorchScript archive (see :func:`load_torchscript_state_dict`).

    Args:
        model_name (str): open_clip model name.
        pretrained (str): A tag or a file path.
        model_cfg (dict, optional): Explicit open_clip model config.
        quick_gelu (bool): QuickGELU activations.
        cache_dir (str, optional): open_clip download cache for tags.
        owner (str): The config key of the caller, ``'backbone'`` or
            ``'text_encoder'``, for error messages.

    Returns:
        dict: The state dict of the whole CLIP model.

    Raises:
        FileNotFoundError: If ``pretrained`` is neither a tag nor a file,
            naming the config key.
        RuntimeError: If a tag cannot be fetched or a file cannot be
            read, naming the config key.
    """
    key = _config_key(owner)
    is_tag = model_cfg is None and pretrained in _known_tags(model_name)
    if is_tag:
        try:
            model = open_clip.create_model(
                model_name,
                pretrained=pretrained,
                force_quick_gelu=quick_gelu,
                cache_dir=cache_dir)
        except RuntimeError as e:
            raise RuntimeError(
                f'{key}={pretrained!r}: open_clip could not get the weights '
                f'of {model_name!r}: {e}. {_offline_hint(model_name)}') from e
        return model.state_dict()
    if not osp.isfile(pretrained):
        tags = _known_tags(model_name) if model_cfg is None else []
        raise FileNotFoundError(
            f'{key}={pretrained!r} does not exist (and is not an open_clip '
            f'tag of {model_name!r}; known tags: {tags}).')
    model = build_clip_model(model_name, model_cfg, quick_gelu)
    try:
        if is_torchscript_archive(pretrained):
            if not quick_gelu:
                warnings.warn(
                    f'{key}={pretrained!r} is an OpenAI TorchScript archive '
                    'but quick_gelu is False: OpenAI CLIP was trained with '
                    'QuickGELU (quick_gelu=None picks it for such a file)')
            state = load_torchscript_state_dict(pretrained)
            resize_pos_embed(state, model)
            model.load_state_dict(state, strict=True)
        else:
            open_clip.load_checkpoint(model, pretrained, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, ValueError, KeyError) as e:
        raise RuntimeError(
            f'{key}={pretrained!r} cannot be loaded into open_clip model '
            f'{model_name!r}: {e}. A local file must be a CLIP state dict '
            '(torch.save(model.state_dict()), read with weights_only=True), '
            'a .safetensors file or an OpenAI TorchScript archive.') from e
    return model.state_dict()
