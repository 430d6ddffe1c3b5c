# Copyright (c) mmfsar contributors. All rights reserved.
import argparse
import glob
import os
import os.path as osp

import pytest
from mmaction.registry import DATASETS
from mmengine.config import Config, DictAction

from mmfsar.utils import resolve_placeholders

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'smoke', 'clip_fsar_*.py')))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

# The released per-dataset settings (docs/settings.md): w, base LR, warm-up
# start LR, steps_iter, decay epochs, iterations, validation interval, seed.
RELEASED = {
    'hmdb51': (1.2, 1e-5, 1e-6, 700, [0, 4, 6], 5000, 300, 0),
    'ucf101': (1.5, 2e-6, 1e-7, 600, [0, 4, 6], 3000, 100, 0),
    'kinetics100': (1.5, 1e-5, 5e-6, 250, [0, 6, 9], 5000, 100, 18),
    'ssv2_small': (3.0, 5e-5, 2e-5, 2000, [0, 4, 6], 30000, 1000, 0),
    'ssv2_full': (3.0, 5e-5, 1e-5, 4000, [0, 4, 6], 30000, 1000, 0),
}


def write_placeholder_split(ann_file, classes_file, video_root, num=8):
    """``num`` classes x 12 empty placeholder videos (nothing decodes
    them) and the annotation and class-name files listing them."""
    os.makedirs(osp.dirname(ann_file), exist_ok=True)
    lines = []
    for c in range(num):
        os.makedirs(osp.join(video_root, f'c {c}'), exist_ok=True)
        for i in range(12):
            open(osp.join(video_root, f'c {c}', f'v{i}.mp4'), 'w').close()
            lines.append(f'c {c}/v{i}.mp4 {c}\n')
    with open(ann_file, 'w') as f:
        f.writelines(lines)
    with open(classes_file, 'w') as f:
        f.writelines(f'class {c}\n' for c in range(num))


def test_every_benchmark_has_both_shots_and_backbones():
    names = {osp.basename(c) for c in CONFIGS}
    for dataset in RELEASED:
        for shot in (1, 5):
            assert f'clip_fsar_{dataset}_{shot}shot.py' in names
            assert f'clip_fsar_{dataset}_{shot}shot_rn50.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_data_root_moves_every_dataloader(path, tmp_path):
    """One ``data_root`` (as --cfg-options sets it) reaches the three
    dataloaders, which build from the placeholder tree under it (video
    paths with spaces, the val and test videos checked on disk)."""
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmfsar']
    assert cfg.runner_type == 'FewShotRunner'
    assert cfg.train_cfg.type == 'EpisodicTrainLoop'
    assert cfg.val_cfg.type == cfg.test_cfg.type == 'EpisodicTestLoop'
    root = str(tmp_path / 'my_copy')
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg.merge_from_dict(
        parser.parse_args(['--cfg-options', f'data_root={root}']).cfg_options)
    cfg = resolve_placeholders(cfg)
    for loader in LOADERS:
        dataset_cfg = cfg[loader].dataset
        assert dataset_cfg.type == 'EpisodicDataset'
        inner = dataset_cfg.dataset
        assert inner.type == 'FewShotVideoDataset'
        paths = (inner.ann_file, inner.data_prefix.video,
                 inner.metainfo.classes)
        assert all(p.startswith(root + '/') or p == root for p in paths), paths
        write_placeholder_split(inner.ann_file, inner.metainfo.classes,
                                inner.data_prefix.video)
        dataset = DATASETS.build(dataset_cfg)
        episode = dataset.get_episode(len(dataset) - 1)
        assert len(episode['class_ids']) == dataset.num_ways
        assert dataset.test_mode == (loader != 'train_dataloader')
        assert dataset.check_videos == dataset.test_mode
        assert dataset.video_key(episode['query'][0]).startswith('c ')


@pytest.mark.parametrize('dataset', list(RELEASED))
@pytest.mark.parametrize('shot', [1, 5])
def test_benchmark_configs_carry_the_released_settings(dataset, shot):
    w, lr, warm, steps_iter, steps, iters, val, seed = RELEASED[dataset]
    for suffix in ('', '_rn50'):
        cfg = Config.fromfile(
            osp.join(REPO, 'configs',
                     f'clip_fsar_{dataset}_{shot}shot{suffix}.py'))
        assert cfg.model.loss_text.loss_weight == w
        assert cfg.optim_wrapper.optimizer.lr == lr
        assert cfg.optim_wrapper.optimizer.weight_decay == 1e-3
        assert cfg.train_cfg.episodes_per_step == 16
        assert 'accumulative_counts' not in cfg.optim_wrapper
        # The rates themselves: tests/engine/test_lr_schedule.py.
        warmup, decay = cfg.param_scheduler
        assert warmup.start_factor == pytest.approx(warm / lr)
        assert warmup.end == steps_iter + 1
        assert decay.milestones == [s * steps_iter for s in steps[1:]]
        assert cfg.train_cfg.max_iters == iters
        assert cfg.train_cfg.val_interval == val
        assert cfg.randomness.seed == seed
        assert cfg.train_dataloader.dataset.episode_seed == seed
        train = cfg.train_dataloader.dataset
        assert (train.num_ways, train.num_shots, train.num_queries) == (5, 1,
                                                                        5)
        for loader in ('val_dataloader', 'test_dataloader'):
            ds = cfg[loader].dataset
            assert (ds.num_ways, ds.num_shots, ds.num_queries) == (5, shot, 1)
        assert cfg.test_dataloader.dataset.num_episodes == 10000
        assert 'val.txt' in cfg.val_dataloader.dataset.dataset.ann_file
        assert cfg.model.head.merge_before == (shot == 5)
        assert cfg.model.head.in_channels == (1024 if suffix else 512)
        assert cfg.model.backbone.model_name == ('RN50'
                                                 if suffix else 'ViT-B-16')


COMPARISON = dict(
    clip_fsar_r18=('PrototypeModulationHead', {'loss_fsl', 'loss_text',
                                               'acc'}),
    otam=('OTAMHead', {'loss_fsl', 'acc'}),
    trx=('TRXHead', {'loss_fsl', 'acc'}),
    tsn=('FewShotTSNHead', {'loss_fsl', 'acc'}),
    cross_transformer=('CrossTransformerHead', {'loss_fsl', 'acc'}),
    hyrsm=('HyRSMHead', {'loss_fsl', 'loss_class', 'loss_temporal', 'acc'}),
    molo=('MoLoHead',
          {'loss_fsl', 'loss_class', 'loss_contrastive', 'loss_recons',
           'acc'}))


@pytest.mark.parametrize('method', list(COMPARISON))
def test_synthetic_comparison_changes_only_the_head(method):
    """Every method of tools/compare_methods.py trains on the same data,
    episodes, schedule and frame encoder; only the head (and CLIP-FSAR's
    text tower) differ, and one training step gives its losses."""
    import torch
    from mmaction.registry import MODELS

    from mmfsar.testing import fake_episode_batch
    reference = Config.fromfile(
        osp.join(REPO, 'configs', '_base_',
                 'synthetic_comparison.py')).to_dict()
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', f'{method}_synthetic_1shot.py'))
    model = cfg.to_dict().pop('model')
    assert {k: v for k, v in cfg.to_dict().items() if k != 'model'} == \
        {k: v for k, v in reference.items() if k != 'model'}
    backbone = dict(reference['model']['backbone'])
    if method == 'molo':
        backbone['spatial'] = True
    assert model['backbone'] == backbone
    assert model['data_preprocessor'] == reference['model'][
        'data_preprocessor']
    head_type, loss_keys = COMPARISON[method]
    assert model['head']['type'] == head_type
    assert (model.get('text_encoder') is None) == (method != 'clip_fsar_r18')
    torch.manual_seed(0)
    recognizer = MODELS.build(cfg.model)
    recognizer.set_class_names([f'c{i}' for i in range(24)], 'train')
    batch = fake_episode_batch(5, 1, 2, num_frames=8, num_classes=24)
    losses = recognizer(
        **recognizer.data_preprocessor(batch, True), mode='loss')
    assert set(losses) == loss_keys
    assert all(torch.isfinite(v) for v in losses.values())


BASELINE_HEADS = dict(
    otam=('OTAMHead', dict(lbda=0.1)),
    trx=('TRXHead', dict(in_channels=2048)),
    tsn=('FewShotTSNHead', dict()),
    cross_transformer=('CrossTransformerHead', dict(in_channels=2048)))


@pytest.mark.parametrize('method', list(BASELINE_HEADS))
@pytest.mark.parametrize('dataset', list(RELEASED))
@pytest.mark.parametrize('shot', [1, 5])
def test_baseline_configs_are_the_hyrsm_recipe_with_their_head(
        method, dataset, shot):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', f'{method}_{dataset}_{shot}shot.py'))
    recipe = Config.fromfile(
        osp.join(REPO, 'configs', f'hyrsm_{dataset}_{shot}shot.py'))
    head_type, values = BASELINE_HEADS[method]
    assert dict(cfg.model.head) == dict(type=head_type, **values)
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                'train_dataloader', 'test_dataloader', 'randomness'):
        assert cfg[key] == recipe[key], key
    assert cfg.model.backbone == recipe.model.backbone
    assert cfg.model.backbone.pretrained == 'IMAGENET1K_V1'
    assert cfg.model.data_preprocessor == recipe.model.data_preprocessor
    train = cfg.train_dataloader.dataset
    assert (train.num_shots, train.num_queries) == (shot, 8 - shot)


@pytest.mark.parametrize('method', list(BASELINE_HEADS))
def test_baseline_model_builds_without_downloading(method):
    from mmaction.registry import MODELS
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', f'{method}_hmdb51_1shot.py'))
    model = MODELS.build(cfg.model)
    assert type(model.head).__name__ == BASELINE_HEADS[method][0]
    assert not model.with_text
    # The whole ResNet-50 is fine-tuned, as in the released baselines.
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert backbone == 23508032
