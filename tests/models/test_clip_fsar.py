# Copyright (c) mmfsar contributors. All rights reserved.
import copy
import os.path as osp

import open_clip
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.optim import OptimWrapper

from mmfsar.testing import (TINY_CLIP, TINY_RN, fake_episode_batch,
                            tiny_model_cfg)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = [f'class {i}' for i in range(10)]


def build(cfg=None, **head):
    torch.manual_seed(0)
    model = MODELS.build(cfg or tiny_model_cfg(**head))
    model.set_class_names(CLASSES, 'train')
    model.set_class_names(CLASSES, 'eval')
    return model


@pytest.mark.parametrize('shots', [1, 5])
@pytest.mark.parametrize('queries', [1, 5])
def test_output_shapes(shots, queries):
    model = build(merge_before=shots > 1)
    batch = fake_episode_batch(5, shots, queries, num_episodes=2)
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].shape == (2 * 5 * (shots + queries), 4, 3, 32, 32)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_fsl', 'loss_text', 'acc'}
    assert losses['loss_fsl'].dim() == 0
    # The accuracy of the 2 * 5 * queries training queries.
    hits = losses['acc'].item() * 2 * 5 * queries
    assert hits == pytest.approx(round(hits), abs=1e-4)
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(batch, False), mode='predict')
        feats = model(**model.data_preprocessor(batch, False), mode='tensor')
    assert len(preds) == 2 * 5 * queries
    assert all(p.pred_score.shape == (5, ) for p in preds)
    assert all(abs(p.pred_score.sum().item() - 1) < 1e-5 for p in preds)
    assert feats.shape == (2 * 5 * (shots + queries), 4, 32)


def test_gradients_reach_backbone_head_and_scale_not_text_tower():
    model = build()
    batch = fake_episode_batch(5, 1, 2)
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    (losses['loss_fsl'] + losses['loss_text']).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert grads['loss_text.scale'] is not None
    assert grads['loss_text.scale'].abs() > 0
    assert any(
        n.startswith('backbone.') and g is not None and g.abs().sum()
        for n, g in grads.items())
    assert any(
        n.startswith('head.layers') and g is not None and g.abs().sum()
        for n, g in grads.items())
    # The text tower holds no parameters at all (buffers only), so neither
    # the optimizer nor DDP can ever update it.
    assert not any(n.startswith('text_encoder') for n in grads)
    assert all(not b.requires_grad for b in model.text_encoder.buffers())


def test_text_bank_equals_direct_encoding_of_prompts():
    model = build()
    clip = open_clip.CLIP(**TINY_CLIP)
    state = {k: v for k, v in model.text_encoder.clip.state_dict().items()}
    missing, unexpected = clip.load_state_dict(state, strict=False)
    assert all(k.startswith('visual.') for k in missing) and not unexpected
    tokens = open_clip.SimpleTokenizer(
        context_length=16)([f'a photo of {c}' for c in CLASSES[:3]])
    with torch.no_grad():
        direct = clip.encode_text(tokens)
    assert torch.allclose(model.text_bank(CLASSES[:3]), direct, atol=1e-6)
    # Computed once per list of names.
    assert model.text_bank(CLASSES[:3]) is model.text_bank(CLASSES[:3])


def test_prompt_is_configurable():
    cfg = tiny_model_cfg()
    cfg['text_encoder']['prompt'] = 'a video of a person {}'
    model = build(cfg)
    assert model.text_encoder.prompts(['running'
                                       ]) == ['a video of a person running']
    with pytest.raises(ValueError, match='placeholder'):
        bad = tiny_model_cfg()
        bad['text_encoder']['prompt'] = 'no placeholder'
        MODELS.build(bad)


@pytest.mark.parametrize('merge_before', [False, True])
def test_per_video_tokens_give_the_episode_logits(merge_before):
    """The cached evaluation runs the Transformer once per video: the logits
    must equal the per-episode computation for any mix of shared videos."""
    model = build(merge_before=merge_before).eval()
    torch.manual_seed(1)
    feats = torch.randn(12, 4, 32)
    video_class = torch.arange(12) % 6
    # 3 episodes, 3-way 2-shot 1-query, reusing videos across episodes and
    # as support in one and query in another.
    support = torch.tensor([[0, 6, 1, 7, 2, 8], [3, 9, 4, 10, 5, 11],
                            [2, 8, 3, 9, 0, 6]])
    query = torch.tensor([[6, 7, 8][::-1], [9, 10, 11], [2, 3, 0]])
    support = support.view(3, 3, 2).flip(-1).reshape(3, 6)
    support_labels = torch.tensor([0, 0, 1, 1, 2, 2]).repeat(3, 1)
    with torch.no_grad():
        expected = model.episode_logits(feats[support], support_labels,
                                        video_class[support], feats[query], 3,
                                        'eval')
        tokens = model.video_tokens(feats, video_class, 'eval')
        got = model.episode_logits_from_tokens(tokens, support, support_labels,
                                               query, 3)
        text = model.text_bank(CLASSES)[video_class]
        chunked = model.head.video_tokens(feats, text, chunk_size=5)
    assert ('support' in tokens) == (not merge_before)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    for key, value in tokens.items():
        torch.testing.assert_close(chunked[key], value, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match='evaluation'):
        model.train().video_tokens(feats, video_class)


def test_state_dict_round_trip_gives_identical_logits(tmp_path):
    model = build().eval()
    batch = fake_episode_batch(5, 1, 1)
    with torch.no_grad():
        before = model(**model.data_preprocessor(batch, False), mode='predict')
    torch.save(model.state_dict(), tmp_path / 'weights.pth')
    torch.manual_seed(123)  # a differently initialised model
    fresh = MODELS.build(tiny_model_cfg()).eval()
    fresh.load_state_dict(
        torch.load(tmp_path / 'weights.pth', weights_only=True))
    fresh.set_class_names(CLASSES, 'eval')
    with torch.no_grad():
        after = fresh(**fresh.data_preprocessor(batch, False), mode='predict')
    for a, b in zip(before, after):
        assert torch.equal(a.pred_score, b.pred_score)


def test_checkpoint_lacking_a_part_is_refused_unless_partial_load(tmp_path):
    """A checkpoint without any weight of a part (here the head) would
    leave that part randomly initialised under mmengine's non-strict
    loading; the model names the part instead, and loads the rest only when
    the config asks for it."""
    from mmengine.runner import load_checkpoint
    model = build()
    state = {
        k: v
        for k, v in model.state_dict().items() if not k.startswith('head.')
    }
    torch.save(dict(state_dict=state), tmp_path / 'backbone_only.pth')
    torch.manual_seed(123)
    fresh = MODELS.build(tiny_model_cfg())
    head_before = {k: v.clone() for k, v in fresh.head.state_dict().items()}
    with pytest.raises(
            ValueError,
            match=r"no weights of 'head'.*"
            r"model.partial_load=\['head'\]"):
        load_checkpoint(fresh, str(tmp_path / 'backbone_only.pth'))
    partial = MODELS.build(dict(tiny_model_cfg(), partial_load=['head']))
    partial.head.load_state_dict(head_before)
    load_checkpoint(partial, str(tmp_path / 'backbone_only.pth'))
    for key, value in state.items():
        assert torch.equal(partial.state_dict()[key], value), key
    for key, value in partial.head.state_dict().items():
        assert torch.equal(value, head_before[key]), key
    # Another part missing is still refused.
    state = {k: v for k, v in state.items() if not k.startswith('backbone.')}
    torch.save(dict(state_dict=state), tmp_path / 'no_backbone.pth')
    with pytest.raises(ValueError, match="no weights of 'backbone'"):
        load_checkpoint(partial, str(tmp_path / 'no_backbone.pth'))


def test_class_names_must_be_set():
    model = MODELS.build(tiny_model_cfg())
    batch = fake_episode_batch(5, 1, 1)
    with pytest.raises(RuntimeError, match='set_class_names'):
        model(**model.data_preprocessor(batch, True), mode='loss')


def test_loss_falls_over_a_few_dozen_episodes(tmp_path):
    from mmaction.registry import DATASETS
    from mmengine.dataset import pseudo_collate

    from mmfsar.testing import make_video_dataset
    root = make_video_dataset(
        str(tmp_path / 'data'), dict(train=(8, 6)), num_frames=8)
    pipeline = [
        dict(type='DecordInit'),
        dict(type='FewShotSampleFrames', num_frames=4),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(32, 32), keep_ratio=False),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')
    ]
    dataset = DATASETS.build(
        dict(
            type='EpisodicDataset',
            num_ways=4,
            num_shots=1,
            num_queries=2,
            dataset=dict(
                type='VideoDataset',
                ann_file=f'{root}/annotations/train.txt',
                data_prefix=dict(video=root),
                metainfo=dict(classes=f'{root}/annotations/train_classes.txt'),
                pipeline=pipeline)))
    episodes = [pseudo_collate(dataset[i]) for i in range(8)]
    model = build()
    model.set_class_names(dataset.class_names, 'train')
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=2e-3))
    losses, fsl = [], []
    for step in range(48):
        log = model.train_step(episodes[step % 8], optim)
        losses.append(log['loss'].item())
        fsl.append(log['loss_fsl'].item())
    # The video-text term moves slowly (its logits are cosines times a
    # scale initialised to 1, as released); the few-shot term must fall.
    assert sum(fsl[-8:]) < 0.75 * sum(fsl[:8])
    assert sum(losses[-8:]) < 0.9 * sum(losses[:8])


def test_resnet_backbone_batchnorm_and_checkpointing():
    model = build(tiny_model_cfg(TINY_RN)).train()
    assert model.backbone.is_resnet
    frames = torch.randn(2, 3, 3, 32, 32)
    cp = copy.deepcopy(model)
    cp.backbone.set_grad_checkpointing(True)
    before = model.backbone.visual.bn1.running_mean.clone()
    results = []
    for net in (model, cp):
        out = net.backbone(frames)
        out.sum().backward()
        results.append((out, [p.grad for p in net.backbone.parameters()],
                        net.backbone.state_dict()))
    (plain, plain_grads, plain_state), (ckpt, ckpt_grads, ckpt_state) = results
    # BatchNorm is in train mode, as in the released recipe.
    assert not torch.equal(plain_state['visual.bn1.running_mean'], before)
    assert torch.allclose(plain, ckpt, atol=1e-5)
    for a, b in zip(plain_grads, ckpt_grads):
        assert torch.allclose(a, b, atol=1e-4)
    # The recomputation in backward must not update the BatchNorm
    # statistics a second time.
    for name, value in plain_state.items():
        assert torch.equal(value, ckpt_state[name]), name


def test_vit_checkpointing_and_frozen_stages():
    cfg = tiny_model_cfg()
    cfg['backbone']['with_cp'] = True
    cfg['backbone']['frozen_stages'] = 1
    model = build(cfg).train()
    visual = model.backbone.visual
    assert visual.transformer.grad_checkpointing
    assert not visual.conv1.weight.requires_grad
    assert not any(p.requires_grad
                   for p in visual.transformer.resblocks[0].parameters())
    assert visual.proj.requires_grad
    with pytest.raises(ValueError, match='frozen_stages'):
        bad = tiny_model_cfg()
        bad['backbone']['frozen_stages'] = 5
        MODELS.build(bad)


def test_unknown_model_name_and_tag_are_rejected():
    with pytest.raises(ValueError, match="backbone.model_name='ViT-Q-99'"):
        MODELS.build(dict(type='OpenCLIPVisual', model_name='ViT-Q-99'))
    with pytest.raises(ValueError, match="text_encoder.pretrained='laion9'"):
        MODELS.build(
            dict(
                type='OpenCLIPTextEncoder',
                model_name='RN50',
                pretrained='laion9'))


def test_pretrained_local_checkpoint_is_loaded_by_init_weights(tmp_path):
    torch.manual_seed(7)
    clip = open_clip.CLIP(**TINY_CLIP)
    path = tmp_path / 'tiny_clip.pt'
    torch.save(clip.state_dict(), path)
    cfg = tiny_model_cfg()
    cfg['backbone']['pretrained'] = str(path)
    cfg['text_encoder']['pretrained'] = str(path)
    model = MODELS.build(cfg)
    assert not torch.equal(model.backbone.visual.proj, clip.visual.proj)
    model.init_weights()
    assert torch.equal(model.backbone.visual.proj, clip.visual.proj)
    assert torch.equal(model.text_encoder.clip.text_projection,
                       clip.text_projection)


def test_openai_tag_selects_quick_gelu_without_download():
    from mmfsar.models.utils.open_clip_builder import resolve_quick_gelu
    assert resolve_quick_gelu('ViT-B-16', 'openai', None) is True
    assert resolve_quick_gelu('ViT-B-16', None, None) is False


@pytest.mark.parametrize('config,expected', [
    (REPO + '/configs/_base_/models/clip_fsar_r50.py', 46711649),
    (REPO + '/configs/_base_/models/clip_fsar_vit-b16.py', 89342465),
])
def test_real_size_parameter_counts(config, expected):
    # docs/method.md: 46,711,649 trainable parameters with RN50 (~38.3M
    # visual + ~8.4M transformer + the scale), ~89.3M with ViT-B/16.
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.model.backbone.pretrained = None
    cfg.model.text_encoder.pretrained = None
    model = MODELS.build(cfg.model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == expected
