# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
import torch
from mmengine.optim import OptimWrapper

from mmfsar.engine import CLIPFSARLR, clip_fsar_lr_factor


def lr_at(step, double, steps=(0, 4, 6), base=5e-5, warm=1e-5, s=4000):
    return base * clip_fsar_lr_factor(step, s, warm / base, steps,
                                      (1, 0.1, 0.01), 1, double)


def test_released_schedule_matches_spec_table():
    # SPEC 6.2, SSv2-Full: warm-up 0-4000 (1e-5 -> 5e-5), x1 4000-8000,
    # x0.1 8000-12000, x0.01 from 12000.
    assert lr_at(0, True) == pytest.approx(1e-5)
    assert lr_at(2000, True) == pytest.approx(3e-5)
    for step, lr in ((4000, 5e-5), (7999, 5e-5), (8000, 5e-6), (11999, 5e-6),
                     (12000, 5e-7), (29999, 5e-7)):
        assert lr_at(step, True) == pytest.approx(lr), step
    # Kinetics-100: x1 250-750, x0.1 750-1250, x0.01 from 1250.
    k100 = dict(steps=(0, 6, 9), base=1e-5, warm=5e-6, s=250)
    for step, lr in ((500, 1e-5), (750, 1e-6), (1249, 1e-6), (1250, 1e-7)):
        assert lr_at(step, True, **k100) == pytest.approx(lr), step


def test_intended_schedule_decays_at_the_configured_epochs():
    for step, lr in ((4000, 5e-5), (15999, 5e-5), (16000, 5e-6), (23999, 5e-6),
                     (24000, 5e-7)):
        assert lr_at(step, False) == pytest.approx(lr), step


def test_scheduler_sets_optimizer_lr_per_iteration():
    param = torch.nn.Parameter(torch.zeros(1))
    optim = OptimWrapper(torch.optim.Adam([param], lr=1e-5))
    sched = CLIPFSARLR(
        optim,
        warmup_start_lr=1e-6,
        steps_iter=10,
        steps=[0, 2, 3],
        lrs=[1, 0.1, 0.01])
    lrs = []
    for _ in range(35):
        lrs.append(optim.param_groups[0]['lr'])
        optim.step()
        sched.step()
    assert lrs[0] == pytest.approx(1e-6)
    assert lrs[5] == pytest.approx(5.5e-6)
    assert lrs[10] == pytest.approx(1e-5) and lrs[19] == pytest.approx(1e-5)
    assert lrs[20] == pytest.approx(1e-6) and lrs[30] == pytest.approx(1e-7)
