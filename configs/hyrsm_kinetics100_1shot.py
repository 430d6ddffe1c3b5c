# HyRSM++, Kinetics-100, 5-way 1-shot, ImageNet ResNet-50: the released
# HyRSMplusplus_K100_1shot_v1.yaml (head CNN_HyRSM_plusplus_1shot,
# TRAIN.* values in model.head, 8 - K = 7 training queries per class).
_base_ = [
    './_base_/default_runtime.py', './_base_/models/hyrsm_r50.py',
    './_base_/datasets/kinetics100_fsar.py',
    './_base_/schedules/resnet_fsl_adam.py'
]

seed = 18
randomness = dict(seed=seed)
model = dict(
    head=dict(
        num_classes=64,
        loss_class_weight=0.1,
        loss_temporal_weight=0.1,
        window_size=3,
        temporal_balance=23.0,
        balance_coefficient=10.0))
train_dataloader = dict(dataset=dict(episode_seed=seed, num_queries=7))
optim_wrapper = dict(optimizer=dict(lr=2.2e-5))
param_scheduler = [
    dict(
        type='CLIPFSARLR',
        warmup_start_lr=5e-6,
        steps_iter=100,
        steps=[0, 4, 6, 9],
        lrs=[1, 0.5, 0.1, 0.05],
        double_count_epoch=False,
        by_epoch=False)
]
train_cfg = dict(max_iters=1500, val_interval=20)
default_hooks = dict(checkpoint=dict(interval=20))
