# Copyright (c) mmfsar contributors. All rights reserved.
"""The configs' mmengine schedulers give the released learning rates."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmfsar.testing import released_lr, scheduled_lrs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# The released SOLVER settings per dataset: BASE_LR, WARMUP_START_LR,
# STEPS_ITER, STEPS, LRS, and the number of training iterations.
RELEASED = {
    'hmdb51': (1e-5, 1e-6, 700, (0, 4, 6), (1, 0.1, 0.01), 5000),
    'ucf101': (2e-6, 1e-7, 600, (0, 4, 6), (1, 0.1, 0.01), 3000),
    'kinetics100': (1e-5, 5e-6, 250, (0, 6, 9), (1, 0.1, 0.01), 5000),
    'ssv2_small': (5e-5, 2e-5, 2000, (0, 4, 6), (1, 0.1, 0.01), 30000),
    'ssv2_full': (5e-5, 1e-5, 4000, (0, 4, 6), (1, 0.1, 0.01), 30000),
}


@pytest.mark.parametrize('dataset', sorted(RELEASED))
@pytest.mark.parametrize('shots', [1, 5])
def test_config_schedule_equals_the_released_formula(dataset, shots):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', f'clip_fsar_{dataset}_{shots}shot.py'))
    base, warm, steps_iter, steps, lrs, iters = RELEASED[dataset]
    assert cfg.optim_wrapper.optimizer.lr == base
    assert cfg.train_cfg.max_iters == iters
    for double in (False, True):
        got = scheduled_lrs(cfg, released=double)
        expected = [
            released_lr(i, base, warm, steps_iter, steps, lrs, double)
            for i in range(iters)
        ]
        # The same rate at every iteration (mmengine multiplies factors
        # step by step, so the last bits may differ).
        assert got == pytest.approx(expected, rel=1e-12, abs=0)


def test_released_schedule_matches_published_ssv2_full_table():
    # SSv2-Full as released: warm-up 0-4000 (1e-5 -> 5e-5), x1 4000-8000,
    # x0.1 8000-12000, x0.01 from 12000.
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'clip_fsar_ssv2_full_1shot.py'))
    lrs = scheduled_lrs(cfg, released=True)
    for step, lr in ((0, 1e-5), (2000, 3e-5), (4000, 5e-5), (7999, 5e-5),
                     (8000, 5e-6), (11999, 5e-6), (12000, 5e-7), (29999,
                                                                  5e-7)):
        assert lrs[step] == pytest.approx(lr, rel=1e-12), step
