# Copyright (c) mmfsar contributors. All rights reserved.
import json
import multiprocessing.reduction
import os.path as osp
import pickle
import subprocess
import sys
from multiprocessing.reduction import ForkingPickler

import numpy as np
import pytest
import torch
import torch.multiprocessing  # noqa: F401 (tensor reductions for workers)
from mmaction.registry import DATASETS
from torch.utils.data import DataLoader

from mmfsar.datasets import EpisodeSampler, episode_collate

PIPELINE = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=4),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(36, 36), keep_ratio=False),
    dict(type='RandomCrop', size=32),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]


def write_annotations(root, counts, names=None, name='train'):
    """An annotation file with ``counts[c]`` placeholder videos of class c."""
    lines = [
        f'c{c}/v{i}.mp4 {c}' for c, n in enumerate(counts) for i in range(n)
    ]
    ann = osp.join(root, f'{name}.txt')
    classes = osp.join(root, f'{name}_classes.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(classes, 'w') as f:
        names = names or [f'class {c}' for c in range(len(counts))]
        f.write('\n'.join(names) + '\n')
    return ann, classes


def episodic(ann, classes, root='', pipeline=(), test_mode=True, **kwargs):
    return DATASETS.build(
        dict(
            type='EpisodicDataset',
            dataset=dict(
                type='VideoDataset',
                ann_file=ann,
                data_prefix=dict(video=root),
                metainfo=dict(classes=classes),
                pipeline=list(pipeline),
                test_mode=test_mode),
            **kwargs))


@pytest.fixture
def placeholder(tmp_path):
    counts = [12, 7, 9, 6, 30, 8, 11, 6]
    ann, classes = write_annotations(str(tmp_path), counts)
    return ann, classes, counts


def test_10000_episodes_have_the_right_shape(placeholder):
    ann, classes, counts = placeholder
    ds = episodic(
        ann,
        classes,
        num_ways=5,
        num_shots=2,
        num_queries=3,
        num_episodes=10000,
        episode_seed=3)
    labels = np.concatenate([[c] * n for c, n in enumerate(counts)])
    for idx in range(10000):
        ep = ds.get_episode(idx)
        assert len(set(ep['class_ids'].tolist())) == 5
        videos = np.concatenate([ep['support'], ep['query']])
        assert len(set(videos.tolist())) == 5 * 5  # all distinct
        assert np.array_equal(labels[ep['support']],
                              ep['class_ids'][ep['support_labels']])
        assert np.array_equal(labels[ep['query']],
                              ep['class_ids'][ep['query_labels']])
        assert np.array_equal(ep['support_labels'], np.repeat(range(5), 2))
        assert np.array_equal(ep['query_labels'], np.repeat(range(5), 3))


def test_batched_episodes_equal_single_ones_and_are_uniform(placeholder):
    ann, classes, counts = placeholder
    num = 40000
    ds = episodic(
        ann,
        classes,
        num_shots=2,
        num_queries=1,
        num_episodes=num,
        episode_seed=7)
    batch = ds.get_episodes(np.arange(num))
    for idx in (0, 1, 777, num - 1):
        single = ds.get_episode(idx)
        for key, value in batch.items():
            assert np.array_equal(value[idx], single[key]), key

    def assert_uniform(draws, size, what):
        freq = np.bincount(draws, minlength=size) / len(draws)
        std = np.sqrt((1 / size) * (1 - 1 / size) / len(draws))
        assert np.abs(freq - 1 / size).max() < 5 * std, (what, freq)

    # Every class equally likely in every label slot.
    for slot in range(5):
        assert_uniform(batch['class_ids'][:, slot], len(counts),
                       f'class of label {slot}')
    # Within a class, every video equally likely as first support and as
    # query (class 4 has 30 videos, class 3 has 6).
    start = np.cumsum([0] + counts)
    for cid in (3, 4):
        where = batch['class_ids'] == cid
        first_support = batch['support'][:, ::2][where] - start[cid]
        query = batch['query'][where] - start[cid]
        assert_uniform(first_support, counts[cid], f'support of {cid}')
        assert_uniform(query, counts[cid], f'query of {cid}')
    with pytest.raises(IndexError, match='episode 40000 out of range'):
        ds.get_episodes([3, num])


def test_episodes_are_a_function_of_seed_and_index(placeholder):
    ann, classes, _ = placeholder
    a = episodic(ann, classes, episode_seed=1, num_episodes=50)
    b = episodic(ann, classes, episode_seed=1, num_episodes=50)
    c = episodic(ann, classes, episode_seed=2, num_episodes=50)
    np.random.seed(123)  # global state must not matter
    for idx in range(50):
        for key in ('class_ids', 'support', 'query'):
            assert np.array_equal(
                a.get_episode(idx)[key],
                b.get_episode(idx)[key])
    assert any(not np.array_equal(
        a.get_episode(i)['support'],
        c.get_episode(i)['support']) for i in range(50))


def test_episodes_identical_in_another_process(placeholder):
    ann, classes, _ = placeholder
    script = f"""
import json, mmfsar
from mmengine.registry import init_default_scope
from mmaction.registry import DATASETS
init_default_scope('mmaction')
ds = DATASETS.build(dict(type='EpisodicDataset', episode_seed=5,
    num_episodes=100, dataset=dict(type='VideoDataset', ann_file={ann!r},
    metainfo=dict(classes={classes!r}), pipeline=[], test_mode=True)))
eps = [ds.get_episode(i) for i in range(1, 100, 2)]
print(json.dumps([e['support'].tolist() + e['query'].tolist() for e in eps]))
"""
    out = subprocess.run([sys.executable, '-c', script],
                         capture_output=True,
                         text=True,
                         check=True).stdout.strip().splitlines()[-1]
    ds = episodic(ann, classes, episode_seed=5, num_episodes=100)
    here = [
        ds.get_episode(i)['support'].tolist() +
        ds.get_episode(i)['query'].tolist() for i in range(1, 100, 2)
    ]
    assert json.loads(out) == here


def test_episode_sampler_gives_ranks_disjoint_indices(placeholder):
    ann, classes, _ = placeholder
    ds = episodic(ann, classes)
    draws = []
    for rank in range(2):
        sampler = EpisodeSampler(ds)
        sampler.rank, sampler.world_size = rank, 2
        it = iter(sampler)
        draws.append([next(it) for _ in range(100)])
    assert not set(draws[0]) & set(draws[1])
    assert sorted(draws[0] + draws[1]) == list(range(200))
    resumed = EpisodeSampler(ds)
    resumed.rank, resumed.world_size = 1, 2
    resumed.set_start(40)
    it = iter(resumed)
    assert [next(it) for _ in range(60)] == draws[1][40:]


@pytest.fixture(scope='module')
def video_root(tmp_path_factory):
    from mmfsar.testing import make_video_dataset
    root = str(tmp_path_factory.mktemp('videos'))
    make_video_dataset(root, dict(train=(4, 4)), num_frames=8)
    return root


def train_dataset(root, **kwargs):
    return episodic(
        f'{root}/annotations/train.txt',
        f'{root}/annotations/train_classes.txt',
        root,
        PIPELINE,
        test_mode=False,
        num_ways=3,
        num_shots=1,
        num_queries=2,
        **kwargs)


def test_training_episodes_identical_across_worker_counts(video_root):
    ds = train_dataset(video_root)
    batches = []
    for workers in (0, 2):
        loader = DataLoader(
            ds,
            batch_size=2,
            sampler=EpisodeSampler(ds),
            num_workers=workers,
            collate_fn=episode_collate)
        it = iter(loader)
        batches.append([next(it) for _ in range(3)])
        del it
    for a, b in zip(*batches):
        # Lists in process, plain lists after crossing from a worker.
        assert isinstance(a['inputs'], list)
        assert isinstance(a['data_samples'], list)
        assert type(b['inputs']) is list
        assert type(b['data_samples']) is list
        assert [s.metainfo['data_idx'] for s in a['data_samples']
                ] == [s.metainfo['data_idx'] for s in b['data_samples']]
        assert torch.equal(
            torch.stack([s.gt_label for s in a['data_samples']]),
            torch.stack([s.gt_label for s in b['data_samples']]))
        # Random crops and frame offsets are seeded per video too.
        for x, y in zip(a['inputs'], b['inputs']):
            assert torch.equal(x, y)


def test_collated_episodes_cross_a_worker_with_one_file_descriptor(
        video_root, monkeypatch):
    # A worker shares every tensor it sends through a file descriptor of
    # its own (~0.5 ms each); the batch of 2 episodes x 9 videos has 18
    # inputs and 18 labels, and sends one stacked tensor.
    ds = train_dataset(video_root)
    batch = episode_collate([ds[0], ds[1]])
    shared = []
    real_dup_fd = multiprocessing.reduction.DupFd
    monkeypatch.setattr(multiprocessing.reduction, 'DupFd',
                        lambda fd: shared.append(fd) or real_dup_fd(fd))
    arrived = pickle.loads(ForkingPickler.dumps(batch))
    assert len(shared) == 1
    assert type(arrived['inputs']) is list and len(arrived['inputs']) == 18
    for x, y in zip(batch['inputs'], arrived['inputs']):
        assert torch.equal(x, y)
    for x, y in zip(batch['data_samples'], arrived['data_samples']):
        assert x.metainfo == y.metainfo
        assert torch.equal(x.gt_label, y.gt_label)


def test_packed_samples_carry_episode_metadata(video_root):
    ds = train_dataset(video_root)
    videos = ds[4]
    assert len(videos) == 3 * 3
    metas = [v['data_samples'].metainfo for v in videos]
    assert [m['is_query'] for m in metas] == [False] * 3 + [True] * 6
    assert all(m['episode_idx'] == 4 and m['num_ways'] == 3 for m in metas)
    episode = ds.get_episode(4)
    labels = [int(v['data_samples'].gt_label) for v in videos]
    assert labels == [0, 1, 2, 0, 0, 1, 1, 2, 2]
    assert [m['class_id'] for m in metas
            ] == [int(episode['class_ids'][lbl]) for lbl in labels]
    assert videos[0]['inputs'].shape == (4, 3, 32, 32)


def test_too_few_videos_names_class_count_and_request(tmp_path):
    ann, classes = write_annotations(
        str(tmp_path), [6, 3, 6], names=['run', 'jump', 'swim'])
    with pytest.raises(ValueError) as err:
        episodic(ann, classes, num_ways=2, num_shots=1, num_queries=3)
    assert "'jump'" in str(err.value) and 'has 3 videos' in str(err.value)
    assert '1 + 3 = 4' in str(err.value)


def test_more_ways_than_classes(tmp_path):
    ann, classes = write_annotations(str(tmp_path), [5, 5, 5])
    with pytest.raises(
            ValueError, match='num_ways=5 but the dataset has '
            'only 3 classes'):
        episodic(ann, classes, num_ways=5)


def test_label_without_class_name(tmp_path):
    ann, classes = write_annotations(str(tmp_path), [5, 5, 5, 5, 5, 5])
    with open(classes, 'w') as f:
        f.write('a\nb\nc\nd\ne\n')  # 5 names, label 5 has none
    with pytest.raises(
            ValueError,
            match=r'c5/v0.mp4 has label 5, which has '
            'no class name: the class-name list has 5 names'):
        episodic(ann, classes)


def test_class_name_list_longer_than_labels(tmp_path):
    ann, classes = write_annotations(str(tmp_path), [5] * 5)
    with open(classes, 'a') as f:
        f.write('extra one\n')
    with pytest.raises(ValueError) as err:
        episodic(ann, classes)
    message = str(err.value)
    assert classes in message and 'has 6 names but only 5 classes' in message
    assert "5 'extra one'" in message


def test_missing_class_names(tmp_path):
    ann, _ = write_annotations(str(tmp_path), [5] * 5)
    with pytest.raises(ValueError, match='needs class names'):
        DATASETS.build(
            dict(
                type='EpisodicDataset',
                dataset=dict(type='VideoDataset', ann_file=ann, pipeline=[])))
