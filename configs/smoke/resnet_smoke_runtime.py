# Runtime and schedule of the ResNet smoke runs (HyRSM++, MoLo): the
# released optimiser with a high LR, no accumulation, 2 iterations, and
# validation and a checkpoint after the second.
_base_ = [
    '../_base_/default_runtime.py', '../_base_/schedules/resnet_fsl_adam.py'
]

train_cfg = dict(max_iters=2, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=1e-3), accumulative_counts=1)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4 / 1e-3,
        by_epoch=False,
        begin=0,
        end=3),
    dict(type='MultiStepLR', milestones=[8, 12], gamma=0.1, by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=1))
randomness = dict(seed=0)
