# A few-second end-to-end run of the tools with MoLo: the released model
# config on a random ResNet-18 (D = 512, 1x1 maps at 32 px), on the small
# generated videos of mmfsar.testing.make_video_dataset (4 training
# classes), read from ./data/smoke.
_base_ = [
    '../_base_/models/molo_r50.py', './resnet_smoke_runtime.py',
    './smoke_data.py'
]

model = dict(
    backbone=dict(depth=18, pretrained=None),
    head=dict(in_channels=512, num_classes=4))
