# Copyright (c) mmfsar contributors. All rights reserved.
"""``demo/demo_fsar.py``: support clips from one folder tree, queries from
another; one line per query, one PNG per query."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mmfsar.apis import inference_fsar, init_fsar_model, support_from_folder

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'demo', 'demo_fsar.py')
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
NAMES = ['spinning top', 'falling leaf', 'rolling ball']


def make_trees(root, tmp_path):
    videos = root / 'data' / 'smoke' / 'videos' / 'test'
    support_dir, queries = tmp_path / 'support', []
    for label, name in enumerate(NAMES):
        folder = support_dir / name.replace(' ', '_')
        os.makedirs(folder)
        for i in range(2):
            shutil.copy(videos / f'class_{label}' / f'{i}.mp4',
                        folder / f'clip{i}.mp4')
        query = tmp_path / 'queries' / f'class_{label}' / 'q.mp4'
        os.makedirs(query.parent)
        shutil.copy(videos / f'class_{label}' / '5.mp4', query)
        queries.append(str(query))
    return str(support_dir), queries


def run_demo(*args):
    return subprocess.run([sys.executable, DEMO, *args],
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_demo_prints_one_line_per_query_and_writes_pngs(fsar_run, tmp_path):
    root, checkpoint = fsar_run
    support_dir, queries = make_trees(root, tmp_path)
    out_dir = tmp_path / 'pngs'
    proc = run_demo(SMOKE, checkpoint, support_dir, *queries, '--out-dir',
                    str(out_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(queries), proc.stdout
    expected = inference_fsar(
        init_fsar_model(SMOKE, checkpoint), support_from_folder(support_dir),
        queries)
    for line, query, result in zip(lines, queries, expected):
        head, others = line.split(' | ')
        assert head == (f'{query}: {result.pred_class} '
                        f'{result.scores[result.pred_label]:.3f}')
        # The other classes, by score, each once.
        listed = [o.rsplit(' ', 1) for o in others.split(', ')]
        assert sorted(n
                      for n, _ in listed) == sorted(n for n in NAMES
                                                    if n != result.pred_class)
        scores = [float(s) for _, s in listed]
        assert scores == sorted(scores, reverse=True)
        np.testing.assert_allclose(
            sum(scores) + result.scores.max(), 1, atol=3e-3)
    pngs = sorted(os.listdir(out_dir))
    assert pngs == [f'{i:03d}_class_{i}_q.png' for i in range(3)]
    for name in pngs:
        with open(out_dir / name, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def load_demo():
    spec = importlib.util.spec_from_file_location('demo_fsar', DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_text_only_and_bad_support_folder(fsar_run, tmp_path, capsys):
    root, checkpoint = fsar_run
    support_dir, queries = make_trees(root, tmp_path)
    demo = load_demo()
    demo.main([
        SMOKE, checkpoint, support_dir, queries[0], '--text-only', '--out-dir',
        str(tmp_path / 'text')
    ])
    lines = capsys.readouterr().out.splitlines()
    expected = inference_fsar(
        init_fsar_model(SMOKE, checkpoint),
        support_from_folder(support_dir),
        queries[:1],
        text_only=True)[0]
    assert lines == [demo.format_line(expected)]
    assert os.listdir(tmp_path / 'text') == ['000_class_0_q.png']
    empty = osp.join(support_dir, 'empty_class')
    os.makedirs(empty)
    with pytest.raises(
            ValueError, match=f'Class folder {empty} has no '
            'videos.'):
        demo.main([SMOKE, checkpoint, support_dir, queries[0]])
