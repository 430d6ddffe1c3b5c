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
        type='CLIPFSARLR',
        warmup_start_lr=1e-4,
        steps_iter=2,
        steps=[0, 4, 6],
        lrs=[1, 0.1, 0.01],
        by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=1))
randomness = dict(seed=0)
