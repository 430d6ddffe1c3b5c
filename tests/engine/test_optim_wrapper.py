# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
import torch
from mmengine.logging import MessageHub

from mmfsar.engine import FiniteOptimWrapper


def wrapper(mode):
    param = torch.nn.Parameter(torch.ones(3))
    optim = FiniteOptimWrapper(
        optimizer=torch.optim.SGD([param], lr=0.1), on_nonfinite=mode)
    return param, optim


def test_nan_loss_raises_with_the_iteration():
    MessageHub.get_current_instance().update_info('iter', 41)
    param, optim = wrapper('raise')
    with pytest.raises(FloatingPointError, match='at iteration 41'):
        optim.update_params((param * float('nan')).sum())


def test_nan_loss_skips_the_step(caplog):
    MessageHub.get_current_instance().update_info('iter', 12)
    param, optim = wrapper('skip')
    optim.update_params((param * float('inf')).sum())
    assert torch.equal(param.data, torch.ones(3))
    assert optim.num_skipped == 1
    optim.update_params(param.sum())  # finite: a normal step
    assert torch.allclose(param.data, torch.full((3, ), 0.9))
