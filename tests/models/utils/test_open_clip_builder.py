# Copyright (c) mmfsar contributors. All rights reserved.
"""CLIP weights in every form they are distributed in, loaded by the
backbone and the text encoder from tiny archives the tests write."""
import open_clip
import pytest
import torch
from mmaction.registry import MODELS
from open_clip.model import convert_weights_to_lp

from mmfsar.models.utils.open_clip_builder import (is_torchscript_archive,
                                                   load_clip_pretrained)

# A tiny CLIP in OpenAI's layout: OpenAI's loader infers 64-wide heads.
TINY = dict(
    embed_dim=64,
    vision_cfg=dict(
        image_size=32, layers=2, width=64, head_width=64, patch_size=8),
    text_cfg=dict(
        context_length=16, vocab_size=49408, width=64, heads=1, layers=1))
# Keys of OpenAI's CLIP archives (e.g. ViT-B-16.pt), as in their
# state_dict(): open_clip's CLIP uses the same names.
OPENAI_KEYS = [
    'positional_embedding', 'text_projection', 'logit_scale',
    'input_resolution', 'context_length', 'vocab_size',
    'visual.class_embedding', 'visual.positional_embedding', 'visual.proj',
    'visual.conv1.weight', 'visual.ln_pre.weight',
    'visual.transformer.resblocks.0.attn.in_proj_weight',
    'visual.transformer.resblocks.0.attn.out_proj.weight',
    'visual.transformer.resblocks.0.mlp.c_fc.weight',
    'visual.transformer.resblocks.1.mlp.c_proj.bias', 'visual.ln_post.bias',
    'token_embedding.weight', 'transformer.resblocks.0.attn.in_proj_bias',
    'transformer.resblocks.0.ln_2.weight', 'ln_final.weight'
]


def tiny_clip(seed=0):
    torch.manual_seed(seed)
    return open_clip.CLIP(**TINY, quick_gelu=True).eval()


def write_openai_archive(clip, path):
    """Save ``clip`` as OpenAI's ``clip`` package ships its weights: a
    TorchScript archive with most weights in fp16 and the
    ``input_resolution``, ``context_length`` and ``vocab_size`` tensors."""
    # OpenAI keeps the causal mask as a plain attribute, not in the state.
    mask = clip._buffers.pop('attn_mask')
    clip.attn_mask = mask
    del clip.context_length, clip.vocab_size
    for name, value in (('input_resolution', 32), ('context_length', 16),
                        ('vocab_size', 49408)):
        clip.register_buffer(name, torch.tensor(value))
    convert_weights_to_lp(clip, torch.float16)
    traced = torch.jit.trace_module(
        clip,
        dict(encode_image=(torch.zeros(1, 3, 32, 32, dtype=torch.half), )),
        check_trace=False)
    torch.jit.save(traced, str(path))


@pytest.fixture(scope='module')
def openai_archive(tmp_path_factory):
    """``(path, fp32 reference state)`` of a tiny OpenAI archive."""
    path = tmp_path_factory.mktemp('clip') / 'ViT-T-8.pt'
    clip = tiny_clip()
    write_openai_archive(clip, path)
    reference = {k: v.float() for k, v in clip.state_dict().items()}
    return path, reference


def build_towers(pretrained, **kwargs):
    common = dict(model_name='mmfsar-tiny', model_cfg=TINY, **kwargs)
    visual = MODELS.build(
        dict(type='OpenCLIPVisual', pretrained=pretrained, **common))
    text = MODELS.build(
        dict(type='OpenCLIPTextEncoder', pretrained=pretrained, **common))
    visual.init_weights()
    text.init_weights()
    return visual, text


def assert_loaded(visual, text, reference):
    for key, value in visual.visual.state_dict().items():
        assert torch.equal(value, reference[f'visual.{key}']), key
    text_state = text.clip.state_dict()
    for key in ('token_embedding.weight', 'text_projection',
                'transformer.resblocks.0.attn.in_proj_weight',
                'ln_final.weight', 'positional_embedding'):
        assert torch.equal(text_state[key], reference[key]), key


def test_openai_archive_has_openai_layout(openai_archive):
    path, _ = openai_archive
    assert is_torchscript_archive(str(path))
    state = torch.jit.load(str(path)).state_dict()
    assert set(OPENAI_KEYS) <= set(state)
    assert 'attn_mask' not in state
    assert state['visual.conv1.weight'].dtype == torch.half
    # What made such a file fail before: plain torch.load refuses it.
    with pytest.raises(RuntimeError, match='TorchScript archives'):
        torch.load(str(path), weights_only=True)


def test_openai_torchscript_archive(openai_archive):
    path, reference = openai_archive
    visual, text = build_towers(str(path))
    # An OpenAI archive means QuickGELU, as for the 'openai' tag.
    assert visual.quick_gelu and text.quick_gelu
    assert_loaded(visual, text, reference)
    # open_clip's own OpenAI loader reads the archive to the same weights.
    openai = open_clip.load_openai_model(str(path), device='cpu')
    expected = openai.state_dict()
    for key, value in visual.visual.state_dict().items():
        assert torch.equal(value, expected[f'visual.{key}'].float()), key
    # And the towers compute what that model computes.
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(
            visual.visual(images), openai.encode_image(images), atol=1e-5)


@pytest.mark.parametrize('form',
                         ['.pt', '.pth', '.bin', '.safetensors', '.ckpt'])
def test_state_dict_files(tmp_path, form):
    clip = tiny_clip(seed=3)
    state = clip.state_dict()
    path = tmp_path / f'clip{form}'
    if form == '.safetensors':
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    elif form == '.ckpt':  # A training checkpoint with a wrapped state.
        torch.save(dict(state_dict=state, epoch=3), path)
    else:
        torch.save(state, path)
    visual, text = build_towers(str(path), quick_gelu=True)
    assert_loaded(visual, text, state)


def test_pickled_module_is_not_unpickled(tmp_path):
    """Plain files are read with weights_only=True: a pickled module is
    refused, naming the config key."""
    path = tmp_path / 'whole_model.pt'
    torch.save(tiny_clip(), path)
    with pytest.raises(
            RuntimeError,
            match=r"(?s)model\.backbone\.pretrained='.*whole_model\.pt' "
            r'cannot be loaded .*weights_only=True'):
        build_towers(str(path))


@pytest.mark.parametrize('owner, cfg_type',
                         [('backbone', 'OpenCLIPVisual'),
                          ('text_encoder', 'OpenCLIPTextEncoder')])
def test_missing_file_names_the_config_key(tmp_path, owner, cfg_type):
    path = str(tmp_path / 'nowhere' / 'ViT-B-16.pt')
    # Building does not need the file (a trained checkpoint carries it).
    model = MODELS.build(
        dict(
            type=cfg_type,
            model_name='mmfsar-tiny',
            model_cfg=TINY,
            pretrained=path))
    with pytest.raises(
            FileNotFoundError,
            match=rf"model\.{owner}\.pretrained='{path}' does not exist"):
        model.init_weights()


def test_unreachable_tag_explains_offline_use(tmp_path, monkeypatch):
    hub = pytest.importorskip('huggingface_hub')
    monkeypatch.setattr(hub.constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(
            RuntimeError,
            match=r"model\.text_encoder\.pretrained='openai': open_clip "
            r"could not get the weights of 'RN50'.*HF_HUB_OFFLINE=1.*"
            r'`cache_dir` key.*~/\.cache/clip/RN50\.pt'):
        load_clip_pretrained(
            'RN50',
            'openai',
            quick_gelu=True,
            cache_dir=str(tmp_path / 'empty_cache'),
            owner='text_encoder')
