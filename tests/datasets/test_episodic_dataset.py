# Copyright (c) mmfsar contributors. All rights reserved.
import json
import multiprocessing.reduction
import os
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

from mmfsar.datasets import EpisodeSampler, episode_collate, episodic_dataset

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
    """An annotation file with ``counts[c]`` placeholder videos of class c
    (empty files: nothing here decodes them)."""
    lines = [
        f'c{c}/v{i}.mp4 {c}' for c, n in enumerate(counts) for i in range(n)
    ]
    for line in lines:
        path = osp.join(root, line.split()[0])
        os.makedirs(osp.dirname(path), exist_ok=True)
        open(path, 'w').close()
    ann = osp.join(root, f'{name}.txt')
    classes = osp.join(root, f'{name}_classes.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(classes, 'w') as f:
        names = names or [f'class {c}' for c in range(len(counts))]
        f.write('\n'.join(names) + '\n')
    return ann, classes


def episodic(ann, classes, root=None, pipeline=(), test_mode=True, **kwargs):
    return DATASETS.build(
        dict(
            type='EpisodicDataset',
            dataset=dict(
                type='FewShotVideoDataset',
                ann_file=ann,
                data_prefix=dict(
                    video=osp.dirname(ann) if root is None else root),
                metainfo=dict(classes=classes),
                pipeline=list(pipeline),
                test_mode=test_mode),
            **kwargs))


@pytest.fixture
def log(monkeypatch):
    """The messages EpisodicDataset logs during the test, joined."""
    messages = []
    monkeypatch.setattr(episodic_dataset, 'print_log',
                        lambda msg, *args, **kwargs: messages.append(msg))
    return lambda: '\n'.join(messages)


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
    num_episodes=100, dataset=dict(type='FewShotVideoDataset',
    ann_file={ann!r}, data_prefix=dict(video={osp.dirname(ann)!r}),
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
            match=r'c5/v0.mp4 \(line 26\) has label 5, which has '
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


def test_duplicate_videos_are_refused_naming_their_lines(tmp_path):
    ann, classes = write_annotations(str(tmp_path), [4, 4, 4])
    with open(ann, 'a') as f:
        f.write('c1/v2.mp4 1\nc0/v0.mp4 0\n')
    with pytest.raises(ValueError) as err:
        episodic(ann, classes, num_ways=3)
    message = str(err.value)
    assert f'{ann} lists 2 video(s) more than once' in message
    assert "'c1/v2.mp4' on line 7 and line 13" in message
    assert "'c0/v0.mp4' on line 1 and line 14" in message
    assert 'deduplicate=True' in message


def test_deduplicate_keeps_first_lines_counts_and_logs(tmp_path, log):
    # Every video listed twice, as in a concatenated annotation file: a
    # duplicate could be the support and the query of one episode.
    ann, classes = write_annotations(str(tmp_path), [3, 3, 3])
    lines = open(ann).read()
    with open(ann, 'w') as f:
        f.write(lines + lines)
    ds = episodic(
        ann,
        classes,
        num_ways=3,
        num_shots=1,
        num_queries=2,
        num_episodes=200,
        deduplicate=True)
    assert ds.num_duplicates == 9
    assert 'ignored 9 duplicate line(s)' in log()
    episodes = ds.get_episodes(np.arange(200))
    used = np.concatenate([episodes['support'], episodes['query']], axis=1)
    assert used.max() < 9  # first lines only
    assert all(len(set(row)) == 9 for row in used.tolist())


def test_duplicate_video_with_another_label_is_refused(tmp_path):
    ann, classes = write_annotations(str(tmp_path), [4, 4, 4])
    with open(ann, 'a') as f:
        f.write('c1/v2.mp4 2\n')
    with pytest.raises(
            ValueError,
            match='twice with different labels: '
            "'c1/v2.mp4' on line 7 and line 13"):
        episodic(ann, classes, num_ways=3, deduplicate=True)


@pytest.mark.parametrize('names,message', [
    (['run', 'jump', 'run', 'swim', 'jump'
      ], "duplicate class names: 'run' on lines 1, 3; 'jump' on lines 2, 5"),
    (['run', ' ', 'swim', 'a', 'b'], 'blank class name on line(s) 2'),
])
def test_bad_class_names_are_refused_naming_lines(tmp_path, names, message):
    ann, classes = write_annotations(str(tmp_path), [4] * 5, names=names)
    with pytest.raises(ValueError) as err:
        episodic(ann, classes)
    assert classes in str(err.value) and message in str(err.value)


def test_missing_class_name_file(tmp_path):
    ann, _ = write_annotations(str(tmp_path), [4] * 5)
    with pytest.raises(ValueError, match='Class-name file not found: '):
        episodic(ann, str(tmp_path / 'nope.txt'))


def test_empty_annotation_file_is_named_for_any_dataset_type(tmp_path):
    ann, classes = write_annotations(str(tmp_path), [4] * 5)
    open(ann, 'w').close()
    with pytest.raises(ValueError, match=f'Annotation file {ann} lists no '):
        DATASETS.build(
            dict(
                type='EpisodicDataset',
                dataset=dict(
                    type='VideoDataset',
                    ann_file=ann,
                    metainfo=dict(classes=classes),
                    pipeline=[])))


def test_test_videos_are_checked_at_start(placeholder, tmp_path):
    ann, classes, _ = placeholder
    for name in ('c0/v3.mp4', 'c5/v1.mp4'):
        (tmp_path / name).unlink()
    with pytest.raises(FileNotFoundError) as err:
        episodic(ann, classes)
    message = str(err.value)
    assert f'2 of the 89 videos listed in {ann} do not exist' in message
    assert f'{tmp_path}/c0/v3.mp4 (line 4)' in message
    assert f'{tmp_path}/c5/v1.mp4 (line 66)' in message
    # Training data is checked only when asked (an episode that needs a
    # missing video fails when it is loaded).
    assert not episodic(ann, classes, test_mode=False).check_videos
    with pytest.raises(FileNotFoundError):
        episodic(ann, classes, test_mode=False, check_videos=True)


def write_episode_file(path, records):
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return str(path)


def export(ds, num):
    episodes = ds.get_episodes(np.arange(num))
    return [
        dict(
            classes=[ds.class_names[c] for c in episodes['class_ids'][e]],
            support=[ds.video_key(i) for i in episodes['support'][e]],
            query=[ds.video_key(i) for i in episodes['query'][e]])
        for e in range(num)
    ]


def test_imported_episodes_equal_the_exported_ones(placeholder, tmp_path, log):
    ann, classes, _ = placeholder
    kwargs = dict(num_ways=4, num_shots=2, num_queries=3)
    ds = episodic(ann, classes, episode_seed=4, num_episodes=50, **kwargs)
    path = write_episode_file(tmp_path / 'eps.jsonl', export(ds, 50))
    # Another seed: the file decides, not the seed.
    imported = episodic(ann, classes, episodes_file=path, **kwargs)
    assert len(imported) == 50
    assert 'num_episodes=10000, but' in log()
    a, b = ds.get_episodes(np.arange(50)), imported.get_episodes(np.arange(50))
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    first = episodic(
        ann, classes, episodes_file=path, num_episodes=20, **kwargs)
    assert len(first) == 20
    with pytest.raises(
            IndexError, match=f'episode 20 out of range '
            rf'\[0, 20\) of {path}'):
        first.get_episodes([3, 20])
    with pytest.raises(ValueError) as err:
        episodic(ann, classes, episodes_file=path, num_ways=4, num_shots=1)
    assert f'{path}, line 1: 4 classes, 8 support and 12 query' in str(
        err.value)
    assert 'num_ways=4, num_shots=1, num_queries=1' in str(err.value)


def test_import_refuses_listing_what_this_copy_lacks(placeholder, tmp_path):
    ann, classes, counts = placeholder
    ds = episodic(ann, classes, num_episodes=100)
    records = export(ds, 100)
    path = write_episode_file(tmp_path / 'eps.jsonl', records)
    # This copy lacks the first support video of episode 3 and of episode
    # 7, and calls class 1 differently.
    gone = {records[3]['support'][0], records[7]['support'][0]}
    lines = [line for line in open(ann) if line.split()[0] not in gone]
    with open(ann, 'w') as f:
        f.writelines(lines)
    names = [f'class {c}' for c in range(len(counts))]
    names[1] = 'renamed'
    with open(classes, 'w') as f:
        f.write('\n'.join(names) + '\n')
    uses_class_1 = next(i for i, r in enumerate(records)
                        if 'class 1' in r['classes'])
    with pytest.raises(ValueError) as err:
        episodic(ann, classes, episodes_file=path)
    message = str(err.value)
    assert f'cannot evaluate the episodes of {path} (100 episodes)' in message
    assert ('1 classes missing from the class-name list:\n    '
            f"'class 1' (first needed on line {uses_class_1 + 1})") in message
    assert '2 videos missing from the annotation file' in message
    for video in gone:
        assert video in message


def test_import_refuses_a_video_of_another_class(placeholder, tmp_path):
    ann, classes, _ = placeholder
    ds = episodic(ann, classes, num_episodes=5)
    records = export(ds, 5)
    records[2]['classes'][0], records[2]['classes'][1] = (
        records[2]['classes'][1], records[2]['classes'][0])
    path = write_episode_file(tmp_path / 'eps.jsonl', records)
    with pytest.raises(ValueError, match='4 videos whose class differs'):
        episodic(ann, classes, episodes_file=path)


def test_episode_sampler_seed_selects_the_stream(placeholder):
    ann, classes, _ = placeholder
    ds = episodic(ann, classes)

    def first(sampler, n=4):
        it = iter(sampler)
        return [next(it) for _ in range(n)]

    assert first(EpisodeSampler(ds)) == first(EpisodeSampler(ds, seed=0))
    assert first(EpisodeSampler(ds, seed=0)) == [0, 1, 2, 3]
    assert first(EpisodeSampler(
        ds, seed=3)) == [3 << 32, (3 << 32) + 1, (3 << 32) + 2, (3 << 32) + 3]
    train = episodic(ann, classes, test_mode=False)
    a, b = (
        train.get_episodes(first(EpisodeSampler(ds, seed=s), 20))
        for s in (0, 3))
    assert not np.array_equal(a['support'], b['support'])
    # A resumed run puts the sampler back on the checkpoint's stream.
    resumed = EpisodeSampler(ds, seed=1234)
    resumed.set_start(2, seed=3)
    assert first(resumed, 2) == [(3 << 32) + 2, (3 << 32) + 3]
    with pytest.raises(ValueError, match=r'seed must be in \[0, 2\*\*31\)'):
        EpisodeSampler(ds, seed=-1)
