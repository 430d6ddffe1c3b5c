# Copyright (c) mmfsar contributors. All rights reserved.
import copy

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from mmfsar.engine import FiniteAmpOptimWrapper, FiniteOptimWrapper
from mmfsar.engine.optim_wrapper import norm_buffers
from mmfsar.testing import TINY_RN, fake_episode_batch, tiny_model_cfg

CLASSES = [f'class {i}' for i in range(10)]


def wrapper(mode, **kwargs):
    param = torch.nn.Parameter(torch.ones(3))
    kwargs.setdefault('on_nonfinite', mode)
    optim = FiniteOptimWrapper(
        optimizer=torch.optim.SGD([param], lr=0.1), **kwargs)
    return param, optim


def set_iter(i):
    MessageHub.get_current_instance().update_info('iter', i)


def test_nan_loss_raises_with_the_iteration():
    set_iter(41)
    param, optim = wrapper('raise')
    with pytest.raises(FloatingPointError, match='at iteration 41'):
        optim.update_params((param * float('nan')).sum())


def test_nan_loss_skips_the_step():
    set_iter(12)
    param, optim = wrapper('skip')
    optim.update_params((param * float('inf')).sum())
    assert torch.equal(param.data, torch.ones(3))
    assert optim.num_skipped == 1 and param.grad is None
    optim.update_params(param.sum())  # finite: a normal step
    assert torch.allclose(param.data, torch.full((3, ), 0.9))
    assert optim.consecutive_skips == 0


def test_nan_loss_with_finite_gradients_is_skipped_too():
    # The non-finite term has no parameters, so the gradients are finite.
    param, optim = wrapper('skip')
    optim.update_params(param.sum() + torch.tensor(float('nan')))
    assert torch.equal(param.data, torch.ones(3)) and optim.num_skipped == 1


def test_consecutive_skips_stop_the_run_naming_the_iteration():
    param, optim = wrapper('skip', max_consecutive_skips=2)
    for i in range(2):
        set_iter(i)
        optim.update_params((param * float('nan')).sum())
    set_iter(2)
    with pytest.raises(FloatingPointError) as err:
        optim.update_params((param * float('nan')).sum())
    assert '3 optimizer steps in a row' in str(err.value)
    assert 'iteration 2' in str(err.value)
    assert 'max_consecutive_skips=2' in str(err.value)


def test_share_of_skipped_steps_per_interval():
    param, optim = wrapper('skip', max_skip_share=0.25)
    for loss_scale in (1, float('nan'), 1, 1):
        optim.update_params((param * loss_scale).sum())
    optim.check_skip_share(4)  # 1 of 4: allowed, and the count restarts
    for loss_scale in (1, float('nan'), float('nan'), 1):
        optim.update_params((param * loss_scale).sum())
    with pytest.raises(FloatingPointError) as err:
        optim.check_skip_share(8)
    assert '2 of the 4 optimizer steps before iteration 8' in str(err.value)


@pytest.mark.parametrize('key,value', [('on_nonfinite', 'ignore'),
                                       ('max_consecutive_skips', -1),
                                       ('max_skip_share', 1.5)])
def test_bad_settings_name_the_key(key, value):
    with pytest.raises(ValueError, match=f'optim_wrapper.{key}'):
        wrapper(**{'mode': 'skip', key: value})


# ---------------------------------------------------------------- BatchNorm
def rn_model():
    """A tiny CLIP-FSAR on an open_clip ModifiedResNet (BatchNorm)."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(TINY_RN))
    model.set_class_names(CLASSES, 'train')
    model.set_class_names(CLASSES, 'eval')
    return model


def batch(seed, nan=False):
    data = fake_episode_batch(3, 1, 1, seed=seed)
    data['inputs'] = [x.float() for x in data['inputs']]
    if nan:
        data['inputs'][0][0, 0, 0, 0] = float('nan')
    return data


def make_optim(model, wrapper_type=FiniteOptimWrapper, accumulative_counts=1):
    return wrapper_type(
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
        accumulative_counts=accumulative_counts)


def train(model, optim, seeds, nan=()):
    """Train on ``batch(seed)`` for each seed, with the same dropout draws
    for the same seed; NaN in the batches of the seeds in ``nan``."""
    for seed in seeds:
        set_iter(seed)
        torch.manual_seed(seed)
        model.train()
        model.train_step(batch(seed, seed in nan), optim)


def predictions(model):
    model.eval()
    with torch.no_grad():
        samples = model.test_step(batch(99))
    return torch.stack([s.pred_score for s in samples])


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_plain_wrapper_leaves_nan_in_batchnorm_buffers():
    """What the skip must undo: mmengine's wrapper after one NaN batch."""
    model = rn_model()
    train(model, make_optim(model, OptimWrapper), [0], nan=[0])
    bad = [b for b in norm_buffers(model) if not b.isfinite().all()]
    assert len(bad) > 10


def test_skipped_step_leaves_batchnorm_buffers_and_evaluation_unchanged():
    model, reference = rn_model(), rn_model()
    optim = make_optim(model)
    train(model, optim, [0])
    before = copy.deepcopy(model.state_dict())
    assert norm_buffers(model)
    train(model, optim, [1], nan=[1])
    assert optim.num_skipped == 1
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    train(model, optim, [2])
    # The NaN step is as if it never happened: same weights, buffers,
    # optimizer state and predictions as a run without it.
    train(reference, make_optim(reference), [0, 2])
    assert_same_state(model, reference)
    assert torch.equal(predictions(model), predictions(reference))


def test_skip_with_accumulation_drops_the_whole_window():
    model, reference = rn_model(), rn_model()
    initial = copy.deepcopy(model.state_dict())
    optim = make_optim(model, accumulative_counts=2)
    train(model, optim, [0, 1], nan=[1])
    # The window [0, NaN] is skipped: the model is as before the window.
    assert optim.num_skipped == 1
    after = model.state_dict()
    assert all(torch.equal(initial[k], after[k]) for k in initial)
    # The next window is a normal step from there.
    train(model, optim, [2, 3])
    train(reference, make_optim(reference, accumulative_counts=2), [2, 3])
    assert_same_state(model, reference)


# ---------------------------------------------------------------- AMP
def amp_optim(monkeypatch, params, init_scale=2.**16, **kwargs):
    """A ``FiniteAmpOptimWrapper`` on the CPU: mmengine's wrapper asks for a
    GPU and builds a CUDA loss scaler, so the test lets it build and then
    gives it torch's CPU loss scaler (the same class with the same
    arithmetic) and CPU autocast bf16."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    with pytest.warns(UserWarning):  # CUDA's scaler disables itself
        optim = FiniteAmpOptimWrapper(
            optimizer=torch.optim.SGD(params, lr=0.1),
            dtype='bfloat16',
            **kwargs)
    optim.loss_scaler = torch.amp.GradScaler('cpu', init_scale=init_scale)
    return optim


def test_amp_finite_step_is_an_unscaled_step(monkeypatch):
    param = torch.nn.Parameter(torch.ones(3))
    optim = amp_optim(monkeypatch, [param])
    optim.update_params(param.sum())
    assert torch.allclose(param.data, torch.full((3, ), 0.9))
    assert optim.num_skipped == 0
    assert optim.loss_scaler.get_scale() == 2.**16
    assert 'loss_scaler' in optim.state_dict()


def test_amp_overflow_skips_and_lowers_the_loss_scale(monkeypatch):
    # A finite loss whose scaled gradients overflow float32.
    set_iter(5)
    param = torch.nn.Parameter(torch.ones(3))
    optim = amp_optim(monkeypatch, [param])
    optim.update_params((param * 1e37).sum())
    assert torch.equal(param.data, torch.ones(3)) and param.grad is None
    assert optim.num_skipped == 1
    assert optim.loss_scaler.get_scale() == 2.**15
    optim.update_params(param.sum())  # the next step is a normal one
    assert torch.allclose(param.data, torch.full((3, ), 0.9))
    assert optim.consecutive_skips == 0


def test_amp_nan_loss_raises_or_stops_after_consecutive_skips(monkeypatch):
    param = torch.nn.Parameter(torch.ones(3))
    optim = amp_optim(monkeypatch, [param], on_nonfinite='raise')
    set_iter(7)
    with pytest.raises(FloatingPointError, match='at iteration 7'):
        optim.update_params((param * float('nan')).sum())
    optim = amp_optim(monkeypatch, [param], max_consecutive_skips=2)
    for i in range(2):
        set_iter(i)
        optim.update_params((param * float('nan')).sum())
    assert optim.loss_scaler.get_scale() == 2.**14
    with pytest.raises(FloatingPointError, match='3 optimizer steps in a row'):
        optim.update_params((param * float('nan')).sum())


def test_amp_skipped_step_restores_batchnorm_buffers(monkeypatch):
    """mmengine's AmpOptimWrapper skips the step but keeps the NaN running
    statistics of the forward pass; this wrapper restores them."""
    model, reference = rn_model(), rn_model()
    optim = amp_optim(monkeypatch, model.parameters())
    train(model, optim, [0])
    before = copy.deepcopy(model.state_dict())
    train(model, optim, [1], nan=[1])
    assert optim.num_skipped == 1
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert optim.loss_scaler.get_scale() == 2.**15
    train(model, optim, [2])
    # As a run without the NaN step whose loss scale was lowered as the
    # skip lowers it (under CPU autocast bf16 a step's result depends on
    # the loss scale: measured, not bit-identical across scales).
    ref_optim = amp_optim(monkeypatch, reference.parameters())
    train(reference, ref_optim, [0])
    ref_optim.loss_scaler.update(2.**15)
    train(reference, ref_optim, [2])
    assert_same_state(model, reference)
