# Copyright (c) mmfsar contributors. All rights reserved.
"""The configs' mmengine schedulers give the released learning rates."""
import math
import os.path as osp

import pytest
import torch
from mmaction.registry import PARAM_SCHEDULERS
from mmengine.config import Config
from mmengine.optim import OptimWrapper

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


def released_lr(step, base, warm, steps_iter, steps, lrs, double_count):
    """The released schedule at an iteration, written from its formula: the
    position is ``e = step / steps_iter`` "epochs" (the released code adds
    ``floor(step / steps_iter)``, counting the epoch twice), with a linear
    warm-up while ``e < 1`` and ``lrs[k]`` from ``steps[k]`` on."""
    epoch = step / steps_iter
    if double_count:
        epoch += math.floor(step / steps_iter)
    if epoch < 1:
        return warm + (base - warm) * epoch
    return base * lrs[max(k for k, s in enumerate(steps) if s <= epoch)]


def config_lrs(cfg, milestones=None):
    param = torch.nn.Parameter(torch.zeros(1))
    optim = OptimWrapper(
        torch.optim.Adam([param], lr=cfg.optim_wrapper.optimizer.lr))
    schedulers = []
    for sched in cfg.param_scheduler:
        sched = dict(sched, optimizer=optim)
        if milestones is not None and sched['type'] == 'MultiStepLR':
            sched['milestones'] = milestones
        schedulers.append(PARAM_SCHEDULERS.build(sched))
    lrs = []
    for _ in range(cfg.train_cfg.max_iters):
        lrs.append(optim.param_groups[0]['lr'])
        for sched in schedulers:
            sched.step()
    return lrs


# Only the rates are stepped here, without optimizer steps.
@pytest.mark.filterwarnings('ignore:Detected call of')
@pytest.mark.parametrize('dataset', sorted(RELEASED))
@pytest.mark.parametrize('shots', [1, 5])
def test_config_schedule_equals_the_released_formula(dataset, shots):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', f'clip_fsar_{dataset}_{shots}shot.py'))
    base, warm, steps_iter, steps, lrs, iters = RELEASED[dataset]
    assert cfg.optim_wrapper.optimizer.lr == base
    assert cfg.train_cfg.max_iters == iters
    for double, milestones in ((False, None), (True, cfg.released_milestones)):
        got = config_lrs(cfg, milestones)
        expected = [
            released_lr(i, base, warm, steps_iter, steps, lrs, double)
            for i in range(iters)
        ]
        # The same rate at every iteration (mmengine multiplies factors
        # step by step, so the last bits may differ).
        assert got == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.filterwarnings('ignore:Detected call of')
def test_released_schedule_matches_published_ssv2_full_table():
    # SSv2-Full as released: warm-up 0-4000 (1e-5 -> 5e-5), x1 4000-8000,
    # x0.1 8000-12000, x0.01 from 12000.
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'clip_fsar_ssv2_full_1shot.py'))
    lrs = config_lrs(cfg, cfg.released_milestones)
    for step, lr in ((0, 1e-5), (2000, 3e-5), (4000, 5e-5), (7999, 5e-5),
                     (8000, 5e-6), (11999, 5e-6), (12000, 5e-7), (29999,
                                                                  5e-7)):
        assert lrs[step] == pytest.approx(lr, rel=1e-12), step
