# Kinetics-100 few-shot splits (64 train, 12 val, 24 test classes of 100
# clips), prepared by tools/data/build_fsar_annotations.py --dataset
# kinetics100: videos under data_root as train_256/<class>/<clip> and
# val_256/..., annotations in data_root/annotations. See docs/settings.md.
_base_ = ['./fsar_episodes.py']

data_root = 'data/kinetics100'

# Kinetics-100 samples 8 frames spread over the clip (the released
# SAMPLING_RATE 35) and augments training queries only (the released
# SUPPORT_QUERY_DIFF): flip and a colour jitter shared by all frames of a
# video.
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=8, mode='interval'),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomCrop', size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_query_pipeline = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=8, mode='interval'),
    dict(type='DecordDecode'),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomCrop', size=224),
    dict(
        type='VideoColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        grayscale_prob=0.3),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='FewShotSampleFrames',
        num_frames=8,
        mode='interval',
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]

train_dataloader = dict(
    dataset=dict(
        query_pipeline=train_query_pipeline,
        dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(dataset=dict(pipeline=test_pipeline)))
test_dataloader = dict(dataset=dict(dataset=dict(pipeline=test_pipeline)))
