# Copyright (c) mmfsar contributors. All rights reserved.
"""``tools/demo.py`` end to end, shortened: a small synthetic benchmark, a
few training episodes, 20 test episodes."""
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')


def test_demo_trains_tests_both_ways_and_plots(tmp_path):
    data, work = str(tmp_path / 'synthetic'), str(tmp_path / 'demo')
    subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'data', 'make_synthetic_fsar.py'), '--out-dir', data,
        '--train-videos', '4', '--val-videos', '3', '--test-videos', '3'
    ],
                   check=True,
                   capture_output=True)
    proc = subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'demo.py'), '--data-root', data, '--work-dir', work,
        '--episodes', '20', '--cfg-options', 'train_cfg.max_iters=6',
        'train_cfg.val_interval=3', 'val_dataloader.dataset.num_episodes=10',
        'model.head.metric.lbda=0.25'
    ],
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True,
                          text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert 'Using the synthetic benchmark in' in out
    summary = re.search(
        r'accuracy on 20 test episodes \(chance 20%\):\n'
        r'  fewshot/accuracy: ([\d.]+)  fewshot/ci95: ([\d.]+)\n'
        r'  with query frames reversed: ([\d.]+) \+- ([\d.]+)\n'
        r'  text only \(class names, no support video\): ([\d.]+) \+- '
        r'([\d.]+)', out)
    assert summary, out[-3000:]
    for name in ('training_curves.png', 'test_per_class_accuracy.png'):
        with open(osp.join(work, name), 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # Both test runs recorded one line per episode, and saw the overrides
    # given for training (here the OTAM temperature).
    printed = [float(x) for x in summary.groups()]
    for i, name in enumerate(('test', 'test_reversed')):
        with open(osp.join(work, f'{name}.jsonl')) as f:
            accs = [json.loads(line)['accuracy'] for line in f]
        assert len(accs) == 20
        # The printed accuracy and CI are those of the recorded episodes.
        mean = sum(accs) / 20
        std = math.sqrt(sum((a - mean)**2 for a in accs) / 20)
        assert printed[2 * i] == pytest.approx(mean, abs=0.005)
        assert printed[2 * i + 1] == pytest.approx(
            1.96 * std / math.sqrt(20), abs=0.005)
        with open(osp.join(work, name, 'clip_fsar_synthetic_1shot.py')) as f:
            assert 'lbda=0.25' in f.read()
