# CLIP-FSAR, UCF101, 5-way 1-shot, CLIP ViT-B/16 (SPEC 6.1). The hyper-
# parameters are the released UCF101 ones (released for RN50; the authors
# published no ViT-B/16 config); see clip_fsar_ucf101_1shot_rn50.py.
_base_ = [
    './_base_/default_runtime.py', './_base_/models/clip_fsar_vit-b16.py',
    './_base_/datasets/ucf101_fsar.py', './_base_/schedules/clip_fsar_adam.py'
]

seed = 0
randomness = dict(seed=seed)
model = dict(loss_text=dict(loss_weight=1.5))
train_dataloader = dict(dataset=dict(episode_seed=seed))
optim_wrapper = dict(optimizer=dict(lr=2e-6))
param_scheduler = [
    dict(
        type='CLIPFSARLR',
        warmup_start_lr=1e-7,
        steps_iter=600,
        steps=[0, 4, 6],
        lrs=[1, 0.1, 0.01],
        double_count_epoch=False,
        by_epoch=False)
]
train_cfg = dict(max_iters=3000, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100))
