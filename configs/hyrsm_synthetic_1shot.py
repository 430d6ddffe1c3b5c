# HyRSM++ on the synthetic motion benchmark of
# tools/data/make_synthetic_fsar.py, for the CPU comparison of methods: the
# data, episodes and schedule of clip_fsar_synthetic_1shot.py (32x32
# frames, LR 1e-3 without weight decay or accumulation, 3,200 episodes).
# The frame encoder is a randomly initialised ResNet-18 (D = 512), the
# smallest of the released backbones (ResNet-50 does not train on a 2-core
# CPU in minutes); the head keeps HyRSMHead's defaults, the released
# settings (SSv2-Full loss values), with a frame classifier over the 24
# training classes.
_base_ = ['./clip_fsar_synthetic_1shot.py']

model = dict(
    _delete_=True,
    type='FewShotRecognizer',
    backbone=dict(type='ResNetFrames', depth=18),
    head=dict(type='HyRSMHead', in_channels=512, num_classes=24),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[114.75, 114.75, 114.75],
        std=[57.375, 57.375, 57.375],
        format_shape='NCHW'))
