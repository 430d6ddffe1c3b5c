# A few-second end-to-end run of the tools: a tiny random-weight CLIP-FSAR
# on the small generated videos of mmfsar.testing.make_video_dataset, read
# from ./data/smoke (relative to the working directory).
_base_ = [
    '../_base_/default_runtime.py', '../_base_/models/clip_fsar_tiny.py',
    '../_base_/schedules/clip_fsar_adam.py', './smoke_data.py'
]

train_cfg = dict(max_iters=4, val_interval=2, episodes_per_step=1)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
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
    logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=3))
randomness = dict(seed=0)
