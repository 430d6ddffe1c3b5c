# Copyright (c) mmfsar contributors. All rights reserved.
"""``tools/compare_methods.py`` end to end, shortened: two methods on a
small synthetic benchmark, a few training episodes, 20 test episodes."""
import json
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')


def predictions(path):
    with open(path) as f:
        return [json.loads(line)['preds'] for line in f]


def test_compare_trains_tests_and_tabulates(tmp_path):
    data, work = str(tmp_path / 'synthetic'), str(tmp_path / 'compare')
    subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'data', 'make_synthetic_fsar.py'), '--out-dir', data,
        '--train-videos', '4', '--val-videos', '3', '--test-videos', '3'
    ],
                   check=True,
                   capture_output=True)
    proc = subprocess.run([
        sys.executable,
        osp.join(TOOLS, 'compare_methods.py'), '--methods', 'TSN', 'OTAM',
        '--data-root', data, '--work-dir', work, '--episodes', '20',
        '--cfg-options', 'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
        'val_dataloader.dataset.num_episodes=10',
        'default_hooks.logger.interval=2'
    ],
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True,
                          text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    with open(osp.join(work, 'comparison.json')) as f:
        rows = {row['method']: row for row in json.load(f)}
    assert list(rows) == ['TSN', 'OTAM']
    for method, row in rows.items():
        assert f"| {method} | {row['accuracy']:.2f} +- " in out
        # The printed accuracy is that of the recorded episodes.
        run = osp.join(work, f"{method.lower()}_synthetic_1shot")
        preds = predictions(osp.join(run, 'test.jsonl'))
        assert len(preds) == 20 and row['train_s_per_episode'] > 0
    tsn = osp.join(work, 'tsn_synthetic_1shot')
    otam = osp.join(work, 'otam_synthetic_1shot')
    # The frame-mean baseline cannot see frame order: reversing the query
    # frames leaves every prediction as it was. OTAM aligns frames in
    # order, so reversal changes its predictions.
    assert predictions(osp.join(tsn, 'test.jsonl')) == predictions(
        osp.join(tsn, 'test_reversed.jsonl'))
    assert rows['TSN']['accuracy'] == rows['TSN']['reversed']
    assert predictions(osp.join(otam, 'test.jsonl')) != predictions(
        osp.join(otam, 'test_reversed.jsonl'))
    # Both share the frame encoder, so only the head's parameters differ.
    assert rows['TSN']['parameters'] == rows['OTAM']['parameters']
