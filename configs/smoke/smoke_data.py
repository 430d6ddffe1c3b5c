# Episodes over the small generated videos of
# mmfsar.testing.make_video_dataset, read from ./data/smoke (relative to the
# working directory): 3-way 1-shot, 4 frames of 32 px.
data_root = 'data/smoke'
ann_root = data_root + '/annotations'
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
    batch_size=1,
    num_workers=0,
    sampler=dict(type='EpisodeSampler'),
    collate_fn=dict(type='episode_collate'),
    dataset=dict(
        type='EpisodicDataset',
        num_ways=3,
        num_shots=1,
        num_queries=2,
        num_episodes=1000,
        episode_seed=0,
        dataset=dict(
            type='VideoDataset',
            ann_file=ann_root + '/train.txt',
            data_prefix=dict(video=data_root),
            metainfo=dict(classes=ann_root + '/train_classes.txt'),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='episode_collate'),
    dataset=dict(
        type='EpisodicDataset',
        num_ways=3,
        num_shots=1,
        num_queries=1,
        num_episodes=10,
        episode_seed=0,
        dataset=dict(
            type='VideoDataset',
            ann_file=ann_root + '/val.txt',
            data_prefix=dict(video=data_root),
            metainfo=dict(classes=ann_root + '/val_classes.txt'),
            pipeline=test_pipeline,
            test_mode=True)))
test_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='episode_collate'),
    dataset=dict(
        type='EpisodicDataset',
        num_ways=3,
        num_shots=1,
        num_queries=1,
        num_episodes=21,
        episode_seed=0,
        dataset=dict(
            type='VideoDataset',
            ann_file=ann_root + '/test.txt',
            data_prefix=dict(video=data_root),
            metainfo=dict(classes=ann_root + '/test_classes.txt'),
            pipeline=test_pipeline,
            test_mode=True)))
val_evaluator = dict(type='FewShotAccuracy')
test_evaluator = dict(type='FewShotAccuracy')
