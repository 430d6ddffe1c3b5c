# Copyright (c) mmfsar contributors. All rights reserved.
"""``data_root`` through the tools, and exported episodes re-evaluated
(subprocesses, on the smoke config with its data away from ./data)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
TOOLS = osp.join(REPO, 'tools')


def run(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if proc.returncode:
        raise AssertionError(f'{args} failed:\n{out[-5000:]}')
    return out


def read(path):
    return [json.loads(line) for line in open(path)]


@pytest.fixture(scope='module')
def moved(tmp_path_factory):
    """Smoke videos in <tmp>/elsewhere/smoke, tools run in <tmp>/run where
    no ./data exists, so only ``data_root`` can lead them to the data."""
    from mmfsar.testing import make_video_dataset
    root = tmp_path_factory.mktemp('moved')
    data = root / 'elsewhere' / 'smoke'
    make_video_dataset(str(data))
    (root / 'run').mkdir()
    return root / 'run', str(data)


@pytest.fixture(scope='module')
def trained(moved):
    """--cfg-options data_root reaches the train and val dataloaders."""
    cwd, data = moved
    run([
        sys.executable, f'{TOOLS}/train.py', SMOKE, '--work-dir', 'wd',
        '--cfg-options', f'data_root={data}', 'train_cfg.max_iters=2'
    ], cwd)
    assert (cwd / 'wd' / 'iter_2.pth').is_file()
    saved = (cwd / 'wd' / 'clip_fsar_tiny_smoke.py').read_text()
    assert f'{data}/annotations/train.txt' in saved
    assert f'{data}/annotations/val.txt' in saved and '${' not in saved
    return moved


@pytest.fixture(scope='module')
def drawn(trained):
    """--cfg-options data_root reaches the test dataloader."""
    cwd, data = trained
    out = run([
        sys.executable, f'{TOOLS}/test.py', SMOKE, 'wd/iter_2.pth',
        '--work-dir', 'wd_test', '--dump', 'drawn.jsonl', '--cfg-options',
        f'data_root={data}'
    ], cwd)
    return out, read(cwd / 'drawn.jsonl')


def test_data_root_option_reaches_the_test_dataloader(drawn):
    out, results = drawn
    assert '(21 episodes)' in out and len(results) == 21


def test_exported_episodes_give_identical_predictions(trained, drawn,
                                                      monkeypatch, capsys):
    cwd, data = trained
    monkeypatch.chdir(cwd)
    spec = importlib.util.spec_from_file_location(
        'export_episodes', f'{TOOLS}/data/export_episodes.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([
        SMOKE, '--split', 'test', '--out', 'test_episodes.jsonl',
        '--cfg-options', f'data_root={data}'
    ])
    assert 'Wrote 21 episodes' in capsys.readouterr().out
    exported = read(cwd / 'test_episodes.jsonl')
    assert [e['episode'] for e in exported] == list(range(21))
    assert all(
        len(e['classes']) == len(e['support']) == len(e['query']) == 3
        for e in exported)
    assert all(v.startswith('videos/test/') for v in exported[0]['support'])
    run([
        sys.executable, f'{TOOLS}/test.py', SMOKE, 'wd/iter_2.pth',
        '--work-dir', 'wd_imported', '--dump', 'imported.jsonl',
        '--cfg-options', f'data_root={data}',
        f'test_dataloader.dataset.episodes_file={cwd}/test_episodes.jsonl'
    ], cwd)
    assert read(cwd / 'imported.jsonl') == drawn[1]
    # The file names the classes the predictions were made on.
    assert [e['classes'] for e in exported
            ] == [[f'test motion {c}' for c in result['class_ids']]
                  for result in drawn[1]]
