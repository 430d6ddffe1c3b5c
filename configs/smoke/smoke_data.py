# Episodes over the small generated videos of
# mmfsar.testing.make_video_dataset, read from ./data/smoke (relative to the
# working directory): 3-way 1-shot, 4 frames of 32 px. The benchmarks'
# template with smaller episodes and frames.
_base_ = ['../_base_/datasets/fsar_episodes.py']

data_root = 'data/smoke'
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=4),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(36, 36), keep_ratio=False),
    dict(type='RandomCrop', size=32),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=4, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(36, 36), keep_ratio=False),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        num_ways=3,
        num_queries=2,
        num_episodes=1000,
        dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        num_ways=3, num_episodes=10, dataset=dict(pipeline=test_pipeline)))
test_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        num_ways=3, num_episodes=21, dataset=dict(pipeline=test_pipeline)))
