# Kinetics-100 few-shot splits (SPEC 7): 5-way episodes over the split files,
# prepared by tools/data/build_fsar_annotations.py --dataset kinetics100.
# Videos under data_root: train_256/<class>/<clip>.mp4 and val_256/....
_base_ = ['./fsar_pipelines.py']

dataset_type = 'VideoDataset'
data_root = 'data/kinetics100'
ann_root = 'data/kinetics100/annotations'

# Kinetics-100 samples 8 frames spread over the clip (SAMPLING_RATE 35)
# and augments training queries only (SUPPORT_QUERY_DIFF): flip and a
# colour jitter shared by all frames of a video.
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

# Training: 5-way 1-shot episodes with 5 queries per class, one per GPU
# per iteration; EpisodeSampler gives every rank its own episodes.
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='EpisodeSampler'),
    collate_fn=dict(type='episode_collate'),
    dataset=dict(
        type='EpisodicDataset',
        num_ways=5,
        num_shots=1,
        num_queries=5,
        num_episodes=1000000,
        episode_seed=0,
        query_pipeline=train_query_pipeline,
        dataset=dict(
            type=dataset_type,
            ann_file=ann_root + '/train.txt',
            data_prefix=dict(video=data_root),
            metainfo=dict(classes=ann_root + '/train_classes.txt'),
            pipeline=train_pipeline)))
# Validation on the val split's fixed episodes (the released code selects
# on the test split); 1 query per class as at test time.
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='episode_collate'),
    dataset=dict(
        type='EpisodicDataset',
        num_ways=5,
        num_shots=1,
        num_queries=1,
        num_episodes=10000,
        episode_seed=0,
        dataset=dict(
            type=dataset_type,
            ann_file=ann_root + '/val.txt',
            data_prefix=dict(video=data_root),
            metainfo=dict(classes=ann_root + '/val_classes.txt'),
            pipeline=test_pipeline,
            test_mode=True)))
# 10,000 fixed test episodes, 1 query per class.
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='episode_collate'),
    dataset=dict(
        type='EpisodicDataset',
        num_ways=5,
        num_shots=1,
        num_queries=1,
        num_episodes=10000,
        episode_seed=0,
        dataset=dict(
            type=dataset_type,
            ann_file=ann_root + '/test.txt',
            data_prefix=dict(video=data_root),
            metainfo=dict(classes=ann_root + '/test_classes.txt'),
            pipeline=test_pipeline,
            test_mode=True)))
val_evaluator = dict(type='FewShotAccuracy')
test_evaluator = dict(type='FewShotAccuracy')
