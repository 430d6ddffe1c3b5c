# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
from mmengine.registry import init_default_scope

import mmfsar  # noqa: F401  (workarounds + registration)

init_default_scope('mmaction')


@pytest.fixture(scope='session')
def smoke_root(tmp_path_factory):
    """A working directory with the smoke videos in ./data/smoke."""
    from mmfsar.testing import make_video_dataset
    root = tmp_path_factory.mktemp('smoke')
    make_video_dataset(str(root / 'data' / 'smoke'))
    return root


@pytest.fixture(scope='session')
def fsar_run(tmp_path_factory):
    """A short real training run of the smoke config: a working directory
    with ./data/smoke (3 test classes of 7 videos, for up to 5 shots) and
    the run's work dir ``train`` (4 iterations, validated at 2 and 4, a
    text log and scalars.json). Returns (root, checkpoint of iteration 4).
    """
    import os

    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmfsar.testing import make_video_dataset
    root = tmp_path_factory.mktemp('fsar_run')
    make_video_dataset(
        str(root / 'data' / 'smoke'),
        splits=dict(train=(4, 4), val=(3, 3), test=(3, 7)))
    config = os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs',
        'smoke', 'clip_fsar_tiny_smoke.py')
    cwd = os.getcwd()
    os.chdir(root)
    try:
        cfg = Config.fromfile(config)
        cfg.work_dir = str(root / 'train')
        Runner.from_cfg(cfg).train()
    finally:
        os.chdir(cwd)
    return root, str(root / 'train' / 'iter_4.pth')
