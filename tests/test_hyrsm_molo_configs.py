# Copyright (c) mmfsar contributors. All rights reserved.
"""The HyRSM++ and MoLo benchmark configs carry the released YAML values
(configs/projects/{hyrsmplusplus,MoLo}/<dataset>/*_v1.yaml of the authors'
repository; the values are copied here)."""
import os.path as osp

import pytest
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmfsar.testing import released_lr, scheduled_lrs

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

# NUM_CLASS, USE_CLASSIFICATION_VALUE, TEMPORAL_LOSS_WEIGHT, WINDOW_SIZE,
# TEMPORAL_BALANCE, BALANCE_COEFFICIENT, POSITION_A / _B, BASE_LR,
# WARMUP_START_LR, STEPS_ITER, STEPS, LRS, NUM_TRAIN_TASKS, VAL_FRE_ITER,
# RANDOM_SEED.
HYRSM = {
    'hmdb51': (31, 0.15, 0.2, 1, 51., 20., 50., 1., 5e-5, 1e-5, 300,
               [0, 2, 3, 7], [1, 0.5, 0.1, 0.01], 2000, 100, 18),
    'ucf101': (70, 0.6, 0.1, 3, 23., 10., 10., 1., 5e-5, 1e-5, 700,
               [0, 3, 5, 7], [1, 0.5, 0.1, 0.01], 2500, 100, 18),
    'kinetics100': (64, 0.1, 0.1, 3, 23., 10., 10., 1., 2.2e-5, 5e-6, 100,
                    [0, 4, 6, 9], [1, 0.5, 0.1, 0.05], 1500, 20, 18),
    'ssv2_small': (64, 0.2, 0.3, 3, 23., 10., 10., 1., 1e-4, 2e-5, 1500,
                   [0, 4, 8], [1, 0.1, 0.01], 20000, 1000, 18),
    'ssv2_full': (64, 0.6, 0.3, 1, 51., 10., 10., 1., 1e-4, 2e-5, 3000,
                  [0, 6, 9], [1, 0.1, 0.01], 40000, 1000, 0),
}
# NUM_CLASS, USE_CLASSIFICATION_VALUE, RECONS_COFF, USE_CONTRASTIVE_COFF,
# POSITION_A / _B, BASE_LR, WARMUP_START_LR, STEPS_ITER, STEPS, LRS,
# NUM_TRAIN_TASKS, VAL_FRE_ITER, RANDOM_SEED.
MOLO = {
    'hmdb51': (31, 0.4, 0.05, 0.05, 10., 1., 5e-5, 1e-5, 500, [0, 3, 5, 7],
               [1, 0.5, 0.1, 0.01], 2000, 100, 18),
    'ucf101': (70, 0.6, 0.05, 0.05, 10., 1., 5e-5, 1e-5, 2000, [0, 3, 6],
               [1, 0.1, 0.01], 6000, 100, 18),
    'kinetics100': (64, 0.1, 0.1, 0.05, 2048., 0.02, 2e-5, 5e-6, 350,
                    [0, 4, 6], [1, 0.1, 0.01], 5000, 20, 18),
    'ssv2_small': (64, 0.15, 0.05, 0.05, 10., 1., 1e-4, 2e-5, 1500, [0, 4, 8],
                   [1, 0.1, 0.01], 20000, 1000, 18),
    'ssv2_full': (64, 0.8, 0.1, 0.05, 10., 1., 1e-4, 2e-5, 6000, [0, 6, 9],
                  [1, 0.1, 0.01], 50000, 1000, 8),
}


def load(name):
    return Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))


def check_common(cfg, lr, warm, steps_iter, steps, lrs, iters, val, seed):
    """Schedule, seed, normalisation and query augmentation."""
    assert cfg.model.backbone.depth == 50
    assert cfg.model.backbone.pretrained == 'IMAGENET1K_V1'
    assert cfg.model.data_preprocessor.mean == [114.75] * 3
    assert cfg.model.data_preprocessor.std == [57.375] * 3
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-3
    assert 'accumulative_counts' not in cfg.optim_wrapper
    # The released rate at every iteration, with the intended decay
    # epochs and with the released double-counted ones.
    for double in (False, True):
        expected = [
            released_lr(i, lr, warm, steps_iter, steps, lrs, double)
            for i in range(iters)
        ]
        assert scheduled_lrs(
            cfg, released=double) == pytest.approx(
                expected, rel=1e-12, abs=0)
    assert cfg.train_cfg.max_iters == iters
    assert cfg.train_cfg.val_interval == val
    assert cfg.randomness.seed == seed
    train = cfg.train_dataloader.dataset
    assert train.episode_seed == seed
    # SUPPORT_QUERY_DIFF: flip and colour jitter on training queries only.
    query_types = [t.type for t in train.query_pipeline]
    assert 'Flip' in query_types and 'VideoColorJitter' in query_types
    assert 'Flip' not in [t.type for t in train.dataset.pipeline]
    assert cfg.test_dataloader.dataset.num_episodes == 10000


@pytest.mark.parametrize('dataset', list(HYRSM))
@pytest.mark.parametrize('shots', [1, 2, 3, 4, 5])
def test_hyrsm_configs_carry_the_released_values(dataset, shots):
    (classes, w, lt, window, balance, beta, pos_a, pos_b, lr, warm, steps_iter,
     steps, lrs, iters, val, seed) = HYRSM[dataset]
    cfg = load(f'hyrsm_{dataset}_{shots}shot')
    check_common(cfg, lr, warm, steps_iter, steps, lrs, iters, val, seed)
    head = cfg.model.head
    # K100 K >= 2: TRAIN.BATCH_SIZE 1 divides the loss by 1, not 4.
    scale = 4 if dataset == 'kinetics100' and shots > 1 else 1
    # ... and it runs on one GPU only: 4 episodes per optimizer step.
    assert cfg.train_cfg.episodes_per_step == 16 // scale
    assert head.get('loss_cls', dict(loss_weight=1.))['loss_weight'] == scale
    assert (head.num_classes, head.loss_class_weight,
            head.loss_temporal_weight) == (classes, w * scale, lt * scale)
    assert (head.window_size, head.temporal_balance,
            head.balance_coefficient) == (window, balance, beta)
    assert (head.position_a, head.position_b) == (pos_a, pos_b)
    assert head.relation_set == ('videos' if shots == 1 else 'prototypes')
    train = cfg.train_dataloader.dataset
    assert (train.num_ways, train.num_shots, train.num_queries) == (5, shots,
                                                                    8 - shots)
    for loader in ('val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert (ds.num_ways, ds.num_shots, ds.num_queries) == (5, shots, 1)


@pytest.mark.parametrize('dataset', list(MOLO))
@pytest.mark.parametrize('shots', [1, 5])
def test_molo_configs_carry_the_released_values(dataset, shots):
    (classes, w, recons, contrastive, pos_a, pos_b, lr, warm, steps_iter,
     steps, lrs, iters, val, seed) = MOLO[dataset]
    cfg = load(f'molo_{dataset}_{shots}shot')
    assert cfg.train_cfg.episodes_per_step == 16
    check_common(cfg, lr, warm, steps_iter, steps, lrs, iters, val, seed)
    assert cfg.model.backbone.spatial
    head = cfg.model.head
    assert (head.num_classes, head.loss_class_weight,
            head.loss_contrastive_weight) == (classes, w, contrastive)
    # RECONS_COFF is not divided by the batch size 4 in the released script.
    assert head.loss_recons_weight == recons * 4
    assert head.use_contrastive and head.use_motion and head.use_recons
    assert head.get('position_a', 10.) == pos_a
    assert head.get('position_b', 1.) == pos_b
    assert head.motion_logit_weight == 0.3
    # Every MoLo run trains on 1-shot episodes with 6 queries per class;
    # the 5-shot files only test on 5 shots.
    train = cfg.train_dataloader.dataset
    assert (train.num_ways, train.num_shots, train.num_queries) == (5, 1, 6)
    for loader in ('val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert (ds.num_ways, ds.num_shots, ds.num_queries) == (5, shots, 1)


@pytest.mark.parametrize('method', ['hyrsm', 'molo'])
def test_weight_decay_follows_the_released_name_rule(method):
    # The released rule exempts names with "bn" or "norm": block
    # BatchNorms and LayerNorms, but not the ResNet stem BatchNorm (named
    # "backbone.1" there) nor MoLo's class tokens, scales and decoder
    # BatchNorms.
    cfg = load(f'{method}_hmdb51_1shot')
    cfg.model.backbone.update(depth=18, pretrained=None)
    cfg.model.head.in_channels = 512
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            decay[id(param)] = group['weight_decay']
    named = {n: decay[id(p)] for n, p in model.named_parameters()}
    assert named['backbone.bn1.weight'] == 1e-3
    assert named['backbone.layer1.0.bn1.weight'] == 0
    assert named['backbone.layer2.0.downsample.1.weight'] == 1e-3
    assert named['head.class_head.bias'] == 1e-3
    if method == 'molo':
        assert named['head.class_token'] == named['head.scale'] == 1e-3
        assert named['head.decoder.stages.0.1.weight'] == 1e-3
        assert named['head.appearance_encoder.attn.norm.weight'] == 0
    else:
        assert named['head.inter_relation.layer_norm.weight'] == 0
        assert named['head.intra_relation.norm.bias'] == 0
