# MoLo, Kinetics-100, 5-way 1-shot, ImageNet ResNet-50: the released
# MoLo_K100_1shot_v1.yaml (TRAIN.* values in model.head; 6 training
# queries per class). loss_recons_weight is RECONS_COFF x 4: mmengine's
# accumulative_counts=4 divides it, the released script does not.
_base_ = [
    './_base_/default_runtime.py', './_base_/models/molo_r50.py',
    './_base_/datasets/kinetics100_fsar.py',
    './_base_/schedules/resnet_fsl_adam.py'
]

seed = 18
randomness = dict(seed=seed)
model = dict(
    head=dict(
        num_classes=64,
        position_a=2048.0,
        position_b=0.02,
        loss_class_weight=0.1,
        loss_contrastive_weight=0.05,
        loss_recons_weight=0.1 * 4))
train_dataloader = dict(dataset=dict(episode_seed=seed, num_queries=6))
optim_wrapper = dict(optimizer=dict(lr=2e-5))
param_scheduler = [
    dict(
        type='CLIPFSARLR',
        warmup_start_lr=5e-6,
        steps_iter=350,
        steps=[0, 4, 6],
        lrs=[1, 0.1, 0.01],
        double_count_epoch=False,
        by_epoch=False)
]
train_cfg = dict(max_iters=5000, val_interval=20)
default_hooks = dict(checkpoint=dict(interval=20))
