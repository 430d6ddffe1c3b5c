"""Tests for tools/data/make_synthetic_fsar.py: the synthetic motion
benchmark of the CPU demo."""
import importlib.util
import sys
from collections import Counter
from pathlib import Path

import cv2
import decord
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / 'tools' / 'data' / 'make_synthetic_fsar.py'
SMALL = dict(train=2, val=2, test=2)


def _load_tool():
    """Import the tool as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location('make_synthetic_fsar', TOOL)
    module = importlib.util.module_from_spec(spec)
    # Registered so that Pool workers can unpickle its functions.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _load_tool()
SPLITS = tool.SPLITS
CLASSES = tool.default_classes()
BY_NAME = {cls.name: cls for cls in CLASSES}


@pytest.fixture(scope='module')
def datasets(tmp_path_factory):
    """Small datasets: seed 0 with 2 workers and with 1, and seed 1."""
    root = tmp_path_factory.mktemp('synthetic_fsar')
    made = {}
    for key, seed, workers in (('a', 0, 2), ('b', 0, 1), ('c', 1, 2)):
        made[key] = root / key
        tool.generate(
            str(made[key]),
            seed=seed,
            videos_per_class=SMALL,
            workers=workers,
            verbose=False)
    return made


def _files(root):
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob('*')) if path.is_file()
    }


def _annotations(root, split):
    lines = (root / f'{split}.txt').read_text().splitlines()
    names = (root / f'{split}_classes.txt').read_text().splitlines()
    return [line.rsplit(' ', 1) for line in lines], names


# ---------------------------------------------------------------- classes
def test_class_set():
    names = [cls.name for cls in CLASSES]
    assert len(names) >= 30
    assert len(set(names)) == len(names)
    assert len({cls.folder for cls in CLASSES}) == len(names)
    per_split = Counter(cls.split for cls in CLASSES)
    assert per_split['train'] >= 18
    assert per_split['val'] >= 5
    assert per_split['test'] >= 8
    for cls in CLASSES:
        # Every class has its order-pair partner in its own split.
        assert BY_NAME[cls.partner].split == cls.split
        assert BY_NAME[cls.partner].partner == cls.name
    test_pairs = tool.order_pairs(
        [cls for cls in CLASSES if cls.split == 'test'])
    assert len(test_pairs) >= 3


def test_classes_are_different_motions():
    """No two classes, in particular of different splits, are one motion
    under two names: with the same generator they would render the same
    video."""
    videos = {
        cls.name: tool.render_video(cls, tool.video_rng(0, 'train', 'x', 0),
                                    32, 8)
        for cls in CLASSES
    }
    for a in CLASSES:
        for b in CLASSES:
            if a.name < b.name:
                assert not np.array_equal(videos[a.name],
                                          videos[b.name]), (a.name, b.name)


@pytest.mark.parametrize('name', [cls.name for cls in CLASSES if cls.reverse])
def test_reversed_class_is_its_partner_played_backwards(name):
    cls = BY_NAME[name]
    partner = BY_NAME[cls.partner]
    for index in range(3):
        rng = tool.video_rng(5, 'test', 'pair', index)
        forward = tool.render_video(partner, rng)
        rng = tool.video_rng(5, 'test', 'pair', index)
        backward = tool.render_video(cls, rng)
        np.testing.assert_array_equal(backward, forward[::-1])
        assert not np.array_equal(backward, forward)


# ----------------------------------------------------------------- output
def test_layout_and_balance(datasets):
    root = datasets['a']
    for split in SPLITS:
        entries, names = _annotations(root, split)
        expected = [cls for cls in CLASSES if cls.split == split]
        assert names == [cls.name for cls in expected]
        labels = Counter(int(label) for _, label in entries)
        assert labels == {i: SMALL[split] for i in range(len(names))}
        for rel, label in entries:
            folder = expected[int(label)].folder
            assert rel.startswith(f'videos/{split}/{folder}/')
            assert (root / rel).is_file()
    all_names = [
        name for split in SPLITS for name in _annotations(root, split)[1]
    ]
    assert len(set(all_names)) == len(all_names) >= 30


def test_same_seed_same_files_any_workers(datasets):
    files_a, files_b = _files(datasets['a']), _files(datasets['b'])
    assert len(files_a) == len(CLASSES) * 2 + 6
    assert files_a == files_b


def test_other_seed_other_videos(datasets):
    files_a, files_c = _files(datasets['a']), _files(datasets['c'])
    assert files_a.keys() == files_c.keys()
    videos = [key for key in files_a if key.endswith('.mp4')]
    assert all(files_a[key] != files_c[key] for key in videos)
    # Same layout and class names, only the videos change.
    assert all(files_a[key] == files_c[key] for key in files_a
               if key.endswith('.txt'))


def test_videos_decode(datasets):
    root = datasets['a']
    for split in SPLITS:
        entries, names = _annotations(root, split)
        for rel, label in entries:
            reader = decord.VideoReader(str(root / rel))
            assert len(reader) == 16
            frames = reader.get_batch(list(range(16))).asnumpy()
            assert frames.shape == (16, 64, 64, 3)
            # The file holds the video of its (seed, split, class, index).
            cls = BY_NAME[names[int(label)]]
            index = int(Path(rel).stem)
            rendered = tool.render_video(
                cls, tool.video_rng(0, split, cls.name, index))
            assert np.abs(frames.astype(float) - rendered).mean() < 8


def test_cli_options(tmp_path, capsys):
    out = tmp_path / 'cli'
    assert tool.main([
        '--out-dir',
        str(out), '--size', '32', '--frames', '8', '--workers', '1',
        '--train-videos', '1', '--val-videos', '2', '--test-videos', '1'
    ]) == 0
    printed = capsys.readouterr().out
    for split in SPLITS:
        entries, names = _annotations(out, split)
        assert len(entries) == len(names) * (2 if split == 'val' else 1)
        assert f'{split}: {len(names)} classes, {len(entries)} videos' in (
            printed)
    reader = decord.VideoReader(str(out / entries[0][0]))
    assert len(reader) == 8
    assert reader[0].shape == (32, 32, 3)


# ------------------------------------------------------ order, not looks
def _shrink(video, size=32):
    """The model's view: frames downsampled to ``size``."""
    return np.stack([
        cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA)
        for frame in video
    ])


def _line_distance(pixels, a, b):
    """RGB distance of each pixel (..., 3) to the segment from a to b."""
    direction = b - a
    along = np.clip((pixels - a) @ direction / (direction @ direction + 1e-6),
                    0, 1)
    return np.linalg.norm(pixels - a - along[..., None] * direction, axis=-1)


def _object_states(video):
    """Per-frame (x, y, size, marker angle) of the object, shape (T, 4).

    The background colour is the median of the frame borders; the object
    is what differs from it, its marker the part whose colour is neither
    the object's median colour nor a blend of it with the background.
    """
    frames = video.astype(np.float32)
    num, height, width = frames.shape[:3]
    border = np.concatenate(
        [frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]], 1)
    background = np.median(border.reshape(-1, 3), 0)
    yy, xx = np.mgrid[0:height, 0:width]
    states = np.zeros((num, 4))
    for t, frame in enumerate(frames):
        d_bg = np.linalg.norm(frame - background, axis=-1)
        fg = d_bg > 45
        if not fg.any():
            continue
        x, y = xx[fg].mean(), yy[fg].mean()
        # Edge pixels blend the object's colour with the background; the
        # marker's colour is off the line between them.
        marker = fg & (
            _line_distance(frame, background, np.median(frame[fg], 0)) > 40)
        angle = 0.
        if marker.any():
            angle = np.arctan2(yy[marker].mean() - y, xx[marker].mean() - x)
        states[t] = x / width, y / height, np.sqrt(fg.sum()) / width, angle
    return states


def _steps(states):
    """Per-step changes: position (2), size, sin of the turn of the
    marker, turn of the direction of motion, speed; shape (T-1, 6)."""
    delta = np.diff(states, axis=0)
    velocity = delta[:, :2]
    speed = np.linalg.norm(velocity, axis=1)
    turn = np.zeros(len(delta))
    cross = (
        velocity[:-1, 0] * velocity[1:, 1] -
        velocity[:-1, 1] * velocity[1:, 0])
    turn[1:] = cross / (speed[:-1] * speed[1:] + 1e-4)
    return np.concatenate(
        [delta[:, :3],
         np.sin(delta[:, 3:]), turn[:, None], speed[:, None]], 1)


def _order_feature(states, chunks=4):
    """Summed changes over each quarter of the video: depends on order."""
    return np.concatenate(
        [chunk.sum(0) for chunk in np.array_split(_steps(states), chunks)])


def _orderless_feature(states):
    """Statistics of the set of states and of the sizes of the steps
    between them: blind to the order of the frames."""
    steps = np.abs(_steps(states))
    marker = np.stack([np.cos(states[:, 3]), np.sin(states[:, 3])], 1)
    return np.concatenate([
        states[:, :3].mean(0), states[:, :3].std(0),
        marker.mean(0), steps[:, [2, 3, 5]].mean(0)
    ])


def _mean_frame(video):
    return cv2.resize(
        video.mean(0).astype(np.float32), (16, 16),
        interpolation=cv2.INTER_AREA).ravel()


def _loo_centroid_accuracy(features, labels):
    """Leave-one-out accuracy of a nearest class centroid classifier on
    standardised features."""
    x = np.asarray(features, float)
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    correct = 0
    for i in range(len(x)):
        rest = np.arange(len(x)) != i
        distances = [
            np.sum((x[i] - x[rest & (labels == c)].mean(0))**2) for c in (0, 1)
        ]
        correct += int(np.argmin(distances)) == labels[i]
    return correct / len(x)


def _pair_features(classes, num_videos=30, seed=1):
    """Mean-frame, orderless and order features of ``num_videos`` videos
    of each of two classes, seen as the model sees them: 8 segment-centre
    frames of 16, downsampled to 32 px."""
    feats = dict(mean=[], orderless=[], order=[], moving=[])
    labels = []
    for label, cls in enumerate(classes):
        for index in range(num_videos):
            rng = tool.video_rng(seed, cls.split, cls.name, index)
            video = _shrink(tool.render_video(cls, rng))
            states = _object_states(video)
            feats['mean'].append(_mean_frame(video))
            feats['orderless'].append(_orderless_feature(states))
            feats['order'].append(_order_feature(states))
            # Steps between the 8 segment-centre frames that change at
            # least 3 pixels.
            changed = np.abs(np.diff(video[1::2].astype(int), axis=0)) > 25
            feats['moving'].append((changed.any(-1).sum((1, 2)) >= 3).sum())
            labels.append(label)
    return feats, np.array(labels)


@pytest.mark.parametrize(
    'pair',
    tool.order_pairs(CLASSES),
    ids=lambda pair: '|'.join(pair).replace(' ', '_'))
def test_order_pair_differs_only_in_order(pair):
    feats, labels = _pair_features([BY_NAME[name] for name in pair])
    # Neither the mean frame nor order-blind statistics of the object's
    # states (where, how big, how fast, which way the marker points) tell
    # the two classes apart...
    assert _loo_centroid_accuracy(feats['mean'], labels) <= 0.7
    assert _loo_centroid_accuracy(feats['orderless'], labels) <= 0.7
    # ...the order of the states does, in 32 px frames.
    assert _loo_centroid_accuracy(feats['order'], labels) >= 0.9
    # The object visibly moves between the 8 frames the model samples, at
    # all but one step (a turn, a rest).
    assert min(feats['moving']) >= 6


def test_orderless_feature_sees_spatial_differences():
    """The orderless check has the power to fail: it separates two classes
    that visit different states (their paths turn at opposite corners)."""
    classes = [
        tool.MotionClass('right then up', 'test', 'right,up'),
        tool.MotionClass('up then right', 'test', 'up,right')
    ]
    feats, labels = _pair_features(classes)
    assert _loo_centroid_accuracy(feats['orderless'], labels) >= 0.9
