# CLIP-FSAR, SSv2-Small, 5-way 1-shot, CLIP ViT-B/16 (SPEC 6.1). The hyper-
# parameters are the released SSv2-Small ones (released for RN50; the authors
# published no ViT-B/16 config); see clip_fsar_ssv2_small_1shot_rn50.py.
_base_ = [
    './_base_/default_runtime.py', './_base_/models/clip_fsar_vit-b16.py',
    './_base_/datasets/ssv2_small_fsar.py',
    './_base_/schedules/clip_fsar_adam.py'
]

seed = 0
randomness = dict(seed=seed)
model = dict(loss_text=dict(loss_weight=3.0))
train_dataloader = dict(dataset=dict(episode_seed=seed))
optim_wrapper = dict(optimizer=dict(lr=5e-5))
param_scheduler = [
    dict(
        type='CLIPFSARLR',
        warmup_start_lr=2e-5,
        steps_iter=2000,
        steps=[0, 4, 6],
        lrs=[1, 0.1, 0.01],
        double_count_epoch=False,
        by_epoch=False)
]
train_cfg = dict(max_iters=30000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000))
