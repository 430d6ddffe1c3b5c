# Copyright (c) mmfsar contributors. All rights reserved.
"""Bad videos, bad checkpoints and determinism (issue: robustness)."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import load_checkpoint

from mmfsar.datasets import VideoLoadError
from mmfsar.testing import tiny_model_cfg, write_video

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
PIPELINE = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=8),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]


def run(args, cwd, check=True):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if check and proc.returncode:
        raise AssertionError(out[-5000:])
    return proc.returncode, out


@pytest.fixture
def videos(tmp_path):
    """3 classes x 4 videos; video c1/v2 is corrupt, c2/v0 missing."""
    rng = np.random.default_rng(0)
    lines = []
    for c in range(3):
        for i in range(4):
            rel = f'c{c}/v{i}.mp4'
            lines.append(f'{rel} {c}')
            if (c, i) == (2, 0):
                continue
            path = tmp_path / rel
            if (c, i) == (1, 2):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b'this is not a video')
                continue
            write_video(
                str(path),
                rng.integers(0, 255, (12, 32, 32, 3), dtype=np.uint8))
    (tmp_path / 'ann.txt').write_text('\n'.join(lines) + '\n')
    (tmp_path / 'classes.txt').write_text('run\njump\nswim\n')
    return tmp_path


def dataset(root, test_mode, **kwargs):
    return DATASETS.build(
        dict(
            type='EpisodicDataset',
            num_ways=3,
            num_shots=1,
            num_queries=2,
            num_episodes=50,
            dataset=dict(
                type='FewShotVideoDataset',
                ann_file=str(root / 'ann.txt'),
                data_prefix=dict(video=str(root)),
                metainfo=dict(classes=str(root / 'classes.txt')),
                pipeline=PIPELINE,
                test_mode=test_mode),
            **kwargs))


def find_episode(ds, data_idx, avoid=()):
    """An episode that uses video ``data_idx`` and none of ``avoid``."""
    for i in range(len(ds)):
        episode = ds.get_episode(i)
        used = set(np.concatenate([episode['support'], episode['query']]))
        if data_idx in used and not used & set(avoid):
            return i
    raise AssertionError('no such episode')


def test_missing_test_video_stops_the_run_at_start(videos):
    with pytest.raises(FileNotFoundError) as err:
        dataset(videos, test_mode=True)
    assert '1 of the 12 videos' in str(err.value)
    assert f'{videos}/c2/v0.mp4 (line 9)' in str(err.value)


@pytest.mark.parametrize('bad,text', [(6, 'Failed to load video'),
                                      (8, 'Video file not found')])
def test_bad_video_stops_with_file_and_episode(videos, bad, text):
    # Training datasets are not checked at start: the missing video fails
    # when an episode needs it.
    ds = dataset(videos, test_mode=bad == 6, check_videos=False)
    idx = find_episode(ds, bad, avoid={6, 8} - {bad})
    with pytest.raises(VideoLoadError) as err:
        ds[idx]
    message = str(err.value)
    name = 'c1/v2.mp4' if bad == 6 else 'c2/v0.mp4'
    assert text in message and name in message
    assert f'episode {idx}' in message


def test_training_can_replace_bad_videos_when_asked(videos, caplog):
    with pytest.raises(ValueError, match='training only'):
        dataset(videos, test_mode=True, replace_bad_videos=True)
    ds = dataset(videos, test_mode=False, replace_bad_videos=True)
    MMLogger.get_instance('mmfsar_test_replace')
    idx = find_episode(ds, 6, avoid={8})
    packed = ds[idx]
    used = [p['data_samples'].metainfo['data_idx'] for p in packed]
    assert 6 not in used
    assert ds.num_replaced >= 1
    # Replacements come from the same class (label of c1 is 1).
    classes = [p['data_samples'].metainfo['class_id'] for p in packed]
    assert sorted(classes) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_short_video_repeats_frames(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    write_video(str(tmp_path / 'short.mp4'), frames)
    from mmengine.dataset import Compose
    out = Compose(PIPELINE)(
        dict(
            filename=str(tmp_path / 'short.mp4'),
            label=0,
            start_index=0,
            modality='RGB'))
    assert out['inputs'].shape == (8, 3, 32, 32)


def test_checkpoint_that_does_not_fit_the_config(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    path = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    wider = tiny_model_cfg()
    wider['head']['ffn_channels'] = 96
    with pytest.raises(ValueError) as err:
        load_checkpoint(MODELS.build(wider), path, strict=False)
    assert "'head.layers.0.ffn.0.weight'" in str(err.value)
    assert 'model.head' in str(err.value)
    no_text = {
        k: v
        for k, v in model.state_dict().items()
        if not k.startswith('text_encoder.')
    }
    torch.save(no_text, path)
    with pytest.raises(ValueError, match='text tower'):
        load_checkpoint(MODELS.build(tiny_model_cfg()), path, strict=False)


def losses(work_dir):
    runs = sorted(
        d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line)['loss'] for line in f if '"loss"' in line]


def test_deterministic_training_repeats_its_losses(smoke_root):
    runs = []
    for name in ('det_a', 'det_b'):
        run([
            sys.executable, f'{TOOLS}/train.py', SMOKE, '--work-dir', name,
            '--deterministic', '--seed', '3', '--cfg-options',
            'train_cfg.max_iters=20', 'train_cfg.val_interval=100',
            'default_hooks.checkpoint.interval=100'
        ], smoke_root)
        runs.append(losses(smoke_root / name))
    assert len(runs[0]) == 20
    assert runs[0] == runs[1]


def random_checkpoint(config, path):
    """A checkpoint of the config's model with random weights."""
    from mmengine.config import Config
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(model.state_dict(), path)
    return str(path)


def test_test_results_identical_across_runs_and_worker_counts(smoke_root):
    ckpt = random_checkpoint(SMOKE, smoke_root / 'random_smoke.pth')
    dumps = []
    for name, workers in (('w0', 0), ('w2', 2), ('w2_again', 2)):
        run([
            sys.executable, f'{TOOLS}/test.py', SMOKE, ckpt, '--work-dir',
            f'wd_{name}', '--dump', f'{name}.jsonl', '--cfg-options',
            f'test_dataloader.num_workers={workers}',
            'test_dataloader.dataset.num_episodes=40'
        ], smoke_root)
        dumps.append((smoke_root / f'{name}.jsonl').read_text())
    assert len(dumps[0].splitlines()) == 40
    assert dumps[0] == dumps[1] == dumps[2]


def test_corrupt_synthetic_video_fails_the_test_tool(tmp_path):
    data = tmp_path / 'synthetic'
    run([
        sys.executable,
        osp.join(TOOLS, 'data', 'make_synthetic_fsar.py'), '--out-dir',
        str(data), '--train-videos', '2', '--val-videos', '2', '--test-videos',
        '3'
    ], tmp_path)
    bad = open(data / 'test.txt').readline().split()[0]
    (data / bad).write_bytes(b'\x00' * 100)
    config = osp.join(REPO, 'configs', 'clip_fsar_synthetic_1shot.py')
    ckpt = random_checkpoint(config, tmp_path / 'random.pth')
    options = [
        f'test_dataloader.dataset.dataset.{key}'
        for key in (f'ann_file={data}/test.txt', f'data_prefix.video={data}',
                    f'metainfo.classes={data}/test_classes.txt')
    ]
    code, out = run([
        sys.executable, f'{TOOLS}/test.py', config, ckpt, '--work-dir',
        str(tmp_path / 'wd'), '--cfg-options',
        'test_dataloader.dataset.num_episodes=20', *options
    ],
                    tmp_path,
                    check=False)
    assert code != 0
    assert bad in out and 'Failed to load video' in out


MARKER_CHECKPOINT = """
import sys
import torch
class Marker:
    def __reduce__(self):
        return (open, (sys.argv[2], 'w'))
torch.save(dict(meta=dict(iter=2, epoch=0), state_dict={},
                message_hub={}, optimizer={}, code=Marker()), sys.argv[1])
"""


@pytest.fixture(scope='module')
def marker_checkpoint(smoke_root):
    """A checkpoint whose unpickling creates the file ``marker``."""
    path, marker = smoke_root / 'code.pth', smoke_root / 'marker'
    run([sys.executable, '-c', MARKER_CHECKPOINT,
         str(path),
         str(marker)], smoke_root)
    return str(path), marker


@pytest.mark.parametrize('entry',
                         ['test', 'resume_path', 'load_from', 'resume_dir'])
def test_checkpoint_that_runs_code_is_refused_everywhere(
        smoke_root, marker_checkpoint, entry):
    path, marker = marker_checkpoint
    work_dir = smoke_root / f'wd_code_{entry}'
    tool = 'test.py' if entry == 'test' else 'train.py'
    args = dict(
        test=[path],
        resume_path=['--resume', path],
        load_from=['--cfg-options', f'load_from={path}'],
        resume_dir=['--resume'])[entry]
    if entry == 'resume_dir':
        work_dir.mkdir(exist_ok=True)
        (work_dir / 'last_checkpoint').write_text(path)
    for env in (None, '0'):
        os.environ.pop('MMFSAR_TRUST_CHECKPOINTS', None)
        if env is not None:
            os.environ['MMFSAR_TRUST_CHECKPOINTS'] = env
        try:
            code, out = run([
                sys.executable, f'{TOOLS}/{tool}', SMOKE, *args, '--work-dir',
                str(work_dir)
            ],
                            smoke_root,
                            check=False)
        finally:
            os.environ.pop('MMFSAR_TRUST_CHECKPOINTS', None)
        assert code != 0
        assert not marker.exists()
        assert 'UntrustedCheckpointError' in out
        assert f'pass --trust-checkpoint {path} to tools/train.py' in out


def test_trust_checkpoint_names_the_file_to_unpickle(smoke_root,
                                                     marker_checkpoint):
    path, marker = marker_checkpoint
    try:
        run([
            sys.executable, f'{TOOLS}/test.py', SMOKE, path, '--work-dir',
            str(smoke_root / 'wd_code_trusted'), '--trust-checkpoint', path
        ],
            smoke_root,
            check=False)
        assert marker.exists()
    finally:
        if marker.exists():
            marker.unlink()


def test_run_whose_every_step_is_skipped_stops(smoke_root):
    # A zero std turns every input into NaN or Inf.
    code, out = run([
        sys.executable, f'{TOOLS}/train.py', SMOKE, '--work-dir', 'wd_nan',
        '--cfg-options', 'model.data_preprocessor.std=[0,0,0]'
    ],
                    smoke_root,
                    check=False)
    assert code != 0
    assert ('FloatingPointError: 2 of the 2 optimizer steps before iteration '
            '2 were skipped for non-finite loss or gradients') in out
    assert not any(
        name.startswith('best_') for name in os.listdir(smoke_root / 'wd_nan'))
