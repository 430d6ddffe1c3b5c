# The shared recipe of the few-shot method comparison on the CPU demo's
# synthetic benchmark (tools/compare_methods.py): every method's
# <method>_synthetic_1shot.py inherits this file and sets only its head
# (CLIP-FSAR also its text tower), so the table compares heads on the same
# videos, episodes, frame encoder and schedule.
#
# From the demo (clip_fsar_synthetic_1shot.py): the data, 5-way 1-shot
# training episodes with 2 queries per class, the val and test episodes,
# Adam at 1e-3 without weight decay, one episode per step. Different:
# - the frame encoder is a random-weight torchvision ResNet-18
#   (ResNetFrames, the family of the released baselines' ImageNet
#   ResNet-50) at 32 px, with the released baselines' normalisation. It
#   learns this benchmark in a few hundred episodes where the demo's tiny
#   ViT needs over 1,600 (measured: CLIP-FSAR 54.1% and OTAM 39.0% on the
#   val classes after 200 episodes), which lets all seven methods train
#   and test within 30 minutes on a 2-core CPU;
# - 200 episodes: a 20-iteration warm-up, x0.1 from iteration 150,
#   validation every 100 iterations.
# MoLo's configs ask the backbone for spatial maps (1x1 at 32 px: its
# motion branch sees change over time only).
_base_ = ['../clip_fsar_synthetic_1shot.py']

model = dict(
    _delete_=True,
    type='FewShotRecognizer',
    backbone=dict(type='ResNetFrames', depth=18),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375],
        format_shape='NCHW'))
train_cfg = dict(max_iters=200, val_interval=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=21),
    dict(type='MultiStepLR', milestones=[150], gamma=0.1, by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=100, max_keep_ckpts=1))
