# MoLo, SSv2-Small, 5-way 1-shot, ImageNet ResNet-50: the released
# MoLo_SSv2_Small_1shot_v1.yaml (TRAIN.* values in model.head; 6 training
# queries per class). loss_recons_weight is RECONS_COFF x 4: mmfsar averages
# it over the episodes of a step, the released script sums 4 of them.
_base_ = [
    './_base_/default_runtime.py', './_base_/models/molo_r50.py',
    './_base_/datasets/ssv2_small_fsar.py',
    './_base_/datasets/fsar_query_augmentation.py',
    './_base_/schedules/resnet_fsl_adam.py'
]

seed = 18
randomness = dict(seed=seed)
model = dict(
    head=dict(
        num_classes=64,
        loss_class_weight=0.15,
        loss_contrastive_weight=0.05,
        loss_recons_weight=0.05 * 4))
train_dataloader = dict(
    dataset=dict(
        episode_seed=seed,
        num_queries=6,
        query_pipeline={{_base_.segment_query_pipeline}}))
optim_wrapper = dict(optimizer=dict(lr=1e-4))
# Warm-up from 2e-5 to 1e-4 over the first 1500 iterations (one
# "epoch"), then x0.1 x0.01 the base rate from
# epochs [4, 8]. The released code counts the epoch twice and
# decays at [3000, 6000];
# to reproduce its runs set param_scheduler.1.milestones=[3000, 6000].
released_milestones = [3000, 6000]
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=2e-5 / 1e-4,
        by_epoch=False,
        begin=0,
        end=1501),
    dict(
        type='MultiStepLR',
        milestones=[6000, 12000],
        gamma=0.1,
        by_epoch=False)
]
train_cfg = dict(max_iters=20000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000))
