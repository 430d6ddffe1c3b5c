# Copyright (c) mmfsar contributors. All rights reserved.
"""``tools/analysis_tools``: the confusion tool on a real test dump, the
curve plotter on a real training log."""
import csv
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name, *args):
    proc = subprocess.run(
        [sys.executable, osp.join(TOOLS, f'{name}.py'), *args],
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def read_csv(path):
    with open(path) as f:
        return list(csv.reader(f))


@pytest.fixture(scope='module')
def dump(fsar_run):
    """A 30-episode test of the trained checkpoint with the text-only
    baseline, dumped; and its metrics."""
    root, checkpoint = fsar_run
    cwd = os.getcwd()
    os.chdir(root)
    try:
        cfg = Config.fromfile(SMOKE)
        cfg.work_dir = str(root / 'analysis_test')
        cfg.load_from = checkpoint
        cfg.test_dataloader.dataset.num_episodes = 30
        cfg.test_evaluator.out_file = str(root / 'analysis.jsonl')
        cfg.test_cfg.text_baseline = True
        metrics = Runner.from_cfg(cfg).test()
    finally:
        os.chdir(cwd)
    return str(root / 'analysis.jsonl'), metrics


@pytest.mark.parametrize('text', [False, True])
def test_confusion_tool_on_a_real_dump(dump, tmp_path, text):
    path, metrics = dump
    out = str(tmp_path / 'analysis')
    stdout = run_tool('fewshot_confusion', path, '--out-dir', out,
                      *(['--text'] if text else []))
    prefix = 'text_' if text else ''
    records = [json.loads(line) for line in open(path)]
    names = ['test motion 0', 'test motion 1', 'test motion 2']
    matrix = read_csv(osp.join(out, f'{prefix}confusion_matrix.csv'))
    assert matrix[0][1:] == names
    counts = np.array([[int(x) for x in row[1:]] for row in matrix[1:]])
    # 30 episodes of 3 queries; the diagonal is what the metric scored.
    assert counts.sum() == 90
    key = 'text_preds' if text else 'preds'
    correct = sum(np.sum(np.equal(r['labels'], r[key])) for r in records)
    assert np.trace(counts) == correct
    rows = read_csv(osp.join(out, f'{prefix}per_class_accuracy.csv'))[1:]
    assert [r[1] for r in rows] == names
    if not text:
        for row in rows:
            assert float(row[4]) == pytest.approx(
                metrics[f'fewshot/class_acc/{row[1]}'], abs=0.005)
    for row in rows:
        assert float(row[5]) <= float(row[4]) <= float(row[6])
    pairs = read_csv(osp.join(out, f'{prefix}confused_pairs.csv'))[1:]
    assert len(pairs) == 3  # every pair of 3 classes met in 3-way episodes
    for a, b, a_as_b, b_as_a, together, rate in pairs:
        i, j = names.index(a), names.index(b)
        assert (int(a_as_b), int(b_as_a)) == (counts[i, j], counts[j, i])
        assert int(together) == 60  # 3-way: every query meets both others
        assert float(rate) == pytest.approx(
            100 * (counts[i, j] + counts[j, i]) / 60, abs=0.005)
    with open(osp.join(out, f'{prefix}confusion_matrix.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert 'Most confused pairs' in stdout


def test_wilson_interval():
    tool = load_tool('fewshot_confusion')
    low, high = tool.wilson(8, 10)
    # Published value for 8/10: [49.0%, 94.3%].
    assert (round(low, 1), round(high, 1)) == (49.0, 94.3)
    assert tool.wilson(0, 5)[0] == pytest.approx(0, abs=1e-12)


def test_confusion_tool_names_a_bad_line(tmp_path):
    path = tmp_path / 'bad.jsonl'
    path.write_text('{"episode_idx": 0}\nnot json\n')
    tool = load_tool('fewshot_confusion')
    with pytest.raises(ValueError, match=r'bad\.jsonl, line 2: not JSON'):
        tool.load_dump(str(path))


def test_curves_from_the_log_equal_those_from_scalars(fsar_run, tmp_path):
    root, _ = fsar_run
    work_dir = str(root / 'train')
    tool = load_tool('plot_fewshot_curves')
    run_dir = sorted(
        d for d in os.listdir(work_dir)
        if osp.isdir(osp.join(work_dir, d)))[-1]
    log = osp.join(work_dir, run_dir, f'{run_dir}.log')
    from_json = tool.load_scalars(work_dir)
    from_log = tool.load_scalars(log)
    assert [s.get('iter') for s in from_json] == [1, 2, None, 3, 4, None]
    assert len(from_log) == len(from_json)
    for a, b in zip(from_json, from_log):
        assert set(a) == set(b)
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-4), key
    for source in (work_dir, log):
        out = str(tmp_path / f'{osp.basename(source)}.png')
        stdout = run_tool('plot_fewshot_curves', source, '--out', out,
                          '--chance', '33.3')
        assert '4 training and 2 validation lines' in stdout
        with open(out, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
