# The template of every benchmark's episodes: 5-way episodes over the
# annotation files of tools/data/build_fsar_annotations.py, videos under
# data_root and annotations (<split>.txt, <split>_classes.txt) under
# ann_root. A benchmark's base sets data_root (and ann_root where it
# differs). Paths are '${key}' placeholders resolved when the runner is
# built (runner_type='FewShotRunner'), so a child config or
# `--cfg-options data_root=/my/copy` moves all three dataloaders.
_base_ = ['./fsar_pipelines.py']

dataset_type = 'FewShotVideoDataset'
ann_root = '${data_root}/annotations'

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
        dataset=dict(
            type=dataset_type,
            ann_file='${ann_root}/train.txt',
            data_prefix=dict(video='${data_root}'),
            metainfo=dict(classes='${ann_root}/train_classes.txt'),
            pipeline={{_base_.train_pipeline}})))
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
            ann_file='${ann_root}/val.txt',
            data_prefix=dict(video='${data_root}'),
            metainfo=dict(classes='${ann_root}/val_classes.txt'),
            pipeline={{_base_.test_pipeline}},
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
            ann_file='${ann_root}/test.txt',
            data_prefix=dict(video='${data_root}'),
            metainfo=dict(classes='${ann_root}/test_classes.txt'),
            pipeline={{_base_.test_pipeline}},
            test_mode=True)))
val_evaluator = dict(type='FewShotAccuracy')
test_evaluator = dict(type='FewShotAccuracy')
