# Copyright (c) mmfsar contributors. All rights reserved.
"""``benchmarks/gpu_suite.py``: ``--quick`` on the CPU measures every row
and writes it to both outputs; an exhausted time budget still lists every
row; each precision row runs the config ``tools/train.py`` would."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.optim import OptimWrapper

from mmfsar.engine import FiniteOptimWrapper

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SUITE = osp.join(REPO, 'benchmarks', 'gpu_suite.py')
sys.path.append(osp.join(REPO, 'benchmarks'))

import gpu_suite  # noqa: E402

MODEL_NAMES = [
    'CLIP RN50', 'CLIP ViT-B/16', 'ImageNet ResNet-50 + OTAM',
    'ImageNet ResNet-50 + TRX'
]
EPISODE_NAMES = ['1-shot', '5-shot']
PRECISION_NAMES = ['fp32', 'AMP fp16', 'AMP bf16', 'AMP bf16 + grad ckpt']
KINDS = ['Kinetics-like', 'HMDB51-like']
QUICK_WORKERS = [0, 1, 2]
TEST_ROW_IDS = ['test/tools/test.py', 'test/physical limit']


def expected_ids():
    ids = {
        f'train/{m}/{e}/{p}'
        for m in MODEL_NAMES
        for e in EPISODE_NAMES
        for p in PRECISION_NAMES
    }
    ids |= {f'feed/{k}/{w} workers' for k in KINDS for w in QUICK_WORKERS}
    return ids | set(TEST_ROW_IDS)


def run_suite(out_dir, *extra):
    proc = subprocess.run(
        [sys.executable, SUITE, '--quick', '--out-dir',
         str(out_dir), *extra],
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(osp.join(out_dir, 'gpu_suite.json')) as f:
        report = json.load(f)
    with open(osp.join(out_dir, 'gpu_suite.md')) as f:
        markdown = f.read()
    return report, markdown


def table_line(markdown, *cells):
    """The Markdown table line that starts with ``cells``."""
    start = '| ' + ' | '.join(str(c) for c in cells) + ' |'
    found = [line for line in markdown.splitlines() if line.startswith(start)]
    assert len(found) == 1, (start, markdown)
    return found[0]


def registered(model_name):
    entry = gpu_suite.train_models()[model_name]
    return all(
        MODELS.get(t) is not None
        for t in gpu_suite.model_types(entry.get('model')))


@pytest.mark.benchmark
def test_quick_run_measures_every_row(tmp_path):
    # A generous budget: this checks what is measured, not how fast (the
    # default --quick budget is 110 s; a busy machine would skip rows).
    report, markdown = run_suite(tmp_path, '--budget', '900')
    assert report['mode'] == 'quick' and report['device'] == 'cpu'
    rows = {row['id']: row for row in report['rows']}
    assert len(rows) == len(report['rows'])
    assert set(rows) == expected_ids()

    for model in MODEL_NAMES:
        for episode, videos in zip(EPISODE_NAMES, [30, 50]):
            for precision in PRECISION_NAMES:
                row = rows[f'train/{model}/{episode}/{precision}']
                line = table_line(markdown, model, episode, precision)
                assert line.rstrip(' |').endswith(gpu_suite.status_cell(row))
                if not registered(model):
                    assert row['status'] == 'pending', row
                    assert 'not registered' in row['note']
                    continue
                if precision == 'AMP fp16':
                    assert row['status'] == 'n/a on CPU', row
                    continue
                assert row['status'] == 'ok', row
                figures = row['figures']
                assert figures['videos_per_step'] == videos
                assert len(figures['step_times_s']) == 2
                assert figures['step_s'] == pytest.approx(
                    sorted(figures['step_times_s'])[0] / 2 +
                    sorted(figures['step_times_s'])[1] / 2)
                assert figures['videos_per_s'] == pytest.approx(
                    videos / figures['step_s'])
                assert 0 < figures['peak_gib'] < 64
                assert f'{figures["step_s"]:.3f} s' in line
                if precision.startswith('AMP'):
                    assert 'CPU autocast bf16' in row['note']

    for kind in KINDS:
        for workers in QUICK_WORKERS:
            row = rows[f'feed/{kind}/{workers} workers']
            assert row['status'] == 'ok', row
            figures = row['figures']
            assert figures['videos'] == 6 * max(workers, 1)
            assert figures['videos_per_s'] > 0
            assert figures['output_shape'] == [8, 3, 224, 224]
            line = table_line(markdown, f'{kind} ({row["label"]})', workers)
            assert f'{figures["videos_per_s"]:.1f}' in line

    tool, limit = (rows[i] for i in TEST_ROW_IDS)
    assert tool['status'] == 'ok', tool
    assert limit['status'] == 'ok', limit
    figures = tool['figures']
    assert figures['episodes'] == 100
    assert 5 <= figures['distinct_videos'] <= 24
    assert 0 <= figures['accuracy'] <= 100
    assert 0 < figures['loop_s'] < figures['wall_s']
    assert figures['encode_fps'] > 0
    assert 'num_episodes=100' in tool['command']
    assert limit['figures']['decode_videos'] == 24
    assert limit['figures']['encode_frames'] == 24 * 8
    assert limit['figures']['limit_s'] == max(limit['figures']['decode_s'],
                                              limit['figures']['encode_s'])
    assert 0 < limit['figures']['share_of_wall'] < 1
    table_line(markdown, 'tools/test.py, whole command',
               f'{figures["wall_s"]:.1f} s')
    table_line(markdown,
               'physical limit: decode + encode each distinct video once')

    targets = report['targets']
    assert len(targets) == 7
    for target in targets:
        assert target['measured'] != 'not measured', target
        table_line(markdown, target['target'], target['goal'])
    assert '| n/a (quick run) |' in markdown


def test_exhausted_budget_still_lists_every_row(tmp_path):
    report, markdown = run_suite(tmp_path, '--budget', '1')
    rows = {row['id']: row for row in report['rows']}
    assert set(rows) == expected_ids()
    for row_id, row in rows.items():
        allowed = {'skipped', 'pending'} if row_id.startswith('train/') \
            else {'skipped'}
        assert row['status'] in allowed, row
        assert 'time budget' in row['note'] or row['status'] == 'pending'
    assert all(t['measured'] == 'not measured' for t in report['targets'])
    assert markdown.count('skipped (time budget used up)') == sum(
        row['status'] == 'skipped' for row in rows.values())


@pytest.mark.parametrize('precision,wrapper,dtype,with_cp', [
    ('fp32', 'FiniteOptimWrapper', None, False),
    ('AMP fp16', 'FiniteAmpOptimWrapper', None, False),
    ('AMP bf16', 'FiniteAmpOptimWrapper', 'bfloat16', False),
    ('AMP bf16 + grad ckpt', 'FiniteAmpOptimWrapper', 'bfloat16', True),
])
def test_each_precision_is_the_train_tool_config(precision, wrapper, dtype,
                                                 with_cp):
    entry = gpu_suite.train_models()['CLIP ViT-B/16']
    cfg = gpu_suite.user_config(entry['configs']['1-shot'],
                                gpu_suite.PRECISIONS[precision],
                                entry.get('model'), entry['overrides'])
    assert cfg.optim_wrapper.type == wrapper
    assert cfg.optim_wrapper.get('dtype') == dtype
    assert cfg.model.backbone.get('with_cp', False) is with_cp
    # Random weights: nothing to download.
    assert cfg.model.backbone.pretrained is None
    assert cfg.model.text_encoder.pretrained is None
    assert cfg.model.backbone.model_name == 'ViT-B-16'


def test_quick_autocast_on_the_cpu():
    model = torch.nn.Linear(4, 2)
    amp = dict(
        type='AmpOptimWrapper',
        loss_scale='dynamic',
        optimizer=dict(type='SGD', lr=0.1))
    cpu = torch.device('cpu')
    with pytest.raises(NotImplementedError, match='bf16 only'):
        gpu_suite.build_optim_wrapper(model, amp, cpu)
    wrapper, context, note = gpu_suite.build_optim_wrapper(
        model, dict(amp, dtype='bfloat16'), cpu)
    assert type(wrapper) is OptimWrapper and 'CPU autocast bf16' in note
    for _ in range(2):  # a fresh context per step
        with context():
            assert model(torch.ones(1, 4)).dtype == torch.bfloat16
    wrapper, _, note = gpu_suite.build_optim_wrapper(
        model, dict(amp, type='FiniteAmpOptimWrapper', dtype='bfloat16'), cpu)
    assert type(wrapper) is FiniteOptimWrapper
    assert 'FiniteOptimWrapper without loss scaling' in note


def test_full_size_test_config(tmp_path):
    """The config the full run gives tools/test.py: the HMDB51 1-shot
    config on the generated split, random weights, 10,000 episodes."""
    args = argparse.Namespace(
        quick=False, budget=None, sections=['test'], work_dir=None)
    suite = gpu_suite.Suite(args, torch.device('cpu'), str(tmp_path),
                            str(tmp_path / 'out'))
    root = str(tmp_path / 'hmdb51_sized')
    ann, classes = gpu_suite.write_split(root, 'test', ['a.avi 0'], ['x'])
    path, options = suite.write_test_config(root, ann, classes)
    assert options == {'test_dataloader.dataset.num_episodes': 10000}
    cfg = gpu_suite.load_test_config(dict(config=path, cfg_options=options))
    loader = cfg.test_dataloader
    assert (loader.dataset.num_ways, loader.dataset.num_shots,
            loader.dataset.num_queries) == (5, 1, 1)
    assert loader.dataset.num_episodes == 10000
    assert loader.num_workers == 4 and cfg.test_cfg.type == 'EpisodicTestLoop'
    video = loader.dataset.dataset
    assert video.ann_file == ann and video.data_prefix.video == root
    assert video.metainfo.classes == classes
    crop = [s for s in video.pipeline if s['type'] == 'CenterCrop']
    assert crop[0]['crop_size'] == 224
    assert cfg.model.backbone.model_name == 'ViT-B-16'
    assert cfg.model.backbone.get('model_cfg') is None
    assert cfg.model.backbone.pretrained is None
    assert cfg.model.text_encoder.pretrained is None
