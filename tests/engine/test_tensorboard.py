# Copyright (c) mmfsar contributors. All rights reserved.
"""TensorBoard as MMAction2 users enable it: a ``TensorboardVisBackend``
in the visualizer writes event files with the training and validation
scalars."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


def test_short_run_writes_tensorboard_events(smoke_root, tmp_path,
                                             monkeypatch):
    pytest.importorskip(
        'tensorboard',
        reason='tensorboard is an optional extra '
        '(pip install "mmfsar[tensorboard]"); requirements/tests.txt has it')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    monkeypatch.chdir(smoke_root)
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(tmp_path / 'tb')
    cfg.visualizer = dict(
        type='ActionVisualizer',
        vis_backends=[
            dict(type='LocalVisBackend'),
            dict(type='TensorboardVisBackend')
        ])
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    Runner.from_cfg(cfg).train()
    events = glob.glob(
        osp.join(cfg.work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1, events
    scalars = EventAccumulator(events[0]).Reload().Tags()['scalars']
    for tag in ('loss', 'loss_fsl', 'loss_text', 'fewshot/accuracy',
                'fewshot/ci95'):
        assert tag in scalars, scalars
