# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp
import uuid

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmfsar.engine.runner.episodic_train_loop import accumulative_counts_for

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


@pytest.mark.parametrize('world_size,batch_size,counts',
                         [(1, 1, 16), (2, 1, 8), (4, 1, 4), (4, 2, 2),
                          (16, 1, 1)])
def test_accumulation_follows_the_world_size(world_size, batch_size, counts):
    assert accumulative_counts_for(16, batch_size, world_size) == counts


@pytest.mark.parametrize('world_size,batch_size', [(3, 1), (32, 1), (2, 3)])
def test_world_size_that_cannot_divide_is_refused(world_size, batch_size):
    with pytest.raises(ValueError) as err:
        accumulative_counts_for(16, batch_size, world_size)
    per_iteration = world_size * batch_size
    assert str(err.value).startswith(
        'train_cfg.episodes_per_step=16 cannot be split over '
        f'{world_size} process(es) x {batch_size} episode(s) per iteration '
        f'({per_iteration} episodes per iteration).')
    assert 'set optim_wrapper.accumulative_counts explicitly' in str(err.value)


@pytest.mark.parametrize('bad', [0, 2.0, None])
def test_episodes_per_step_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match='must be a positive int'):
        accumulative_counts_for(bad, 1, 1)


def runner(work_dir, **options):
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'loop_{uuid.uuid4().hex[:8]}'
    cfg.merge_from_dict(options)
    return Runner.from_cfg(cfg)


def test_loop_refuses_or_follows_an_explicit_count(smoke_root, tmp_path,
                                                   monkeypatch, capsys):
    monkeypatch.chdir(smoke_root)
    # 3 episodes per step cannot come from iterations of 2 episodes.
    options = {
        'train_cfg.episodes_per_step': 3,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 2,
        'train_cfg.val_interval': 10,
        'default_hooks.checkpoint.interval': 10
    }
    with pytest.raises(ValueError, match='episodes_per_step=3 cannot be'):
        runner(tmp_path / 'refused', **options).train()
    # Set explicitly, accumulative_counts wins, and the log says so.
    explicit = runner(tmp_path / 'explicit', **options,
                      **{'optim_wrapper.accumulative_counts': 1})
    explicit.train()
    assert explicit.optim_wrapper._accumulative_counts == 1
    assert ('2 episodes per optimizer step (optim_wrapper.accumulative_counts'
            ', set explicitly: it overrides train_cfg.episodes_per_step=3) = '
            '1 process(es) x 2 episode(s) per iteration x 1 accumulated '
            'iteration(s); 2 iterations make 2 optimizer steps.'
            ) in capsys.readouterr().out
