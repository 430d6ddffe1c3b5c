# Copyright (c) mmfsar contributors. All rights reserved.
"""Failed and interrupted checkpoint saves (smoke config, in process and in
a killed subprocess)."""
import errno
import os
import os.path as osp
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmfsar.engine import AtomicCheckpointHook

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
SAVE = torch.save


def smoke_cfg(work_dir, resume=False):
    """The smoke config (4 iterations, checkpoints at 2 and 4) keeping one
    checkpoint, as the demo does."""
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'atomic_{uuid.uuid4().hex[:8]}'
    cfg.default_hooks.checkpoint.max_keep_ckpts = 1
    cfg.resume = resume
    return cfg


def train(cfg):
    """Train in this process with one torch thread, as the subprocesses of
    these tests run (OMP_NUM_THREADS=1): results depend on the number of
    threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner = Runner.from_cfg(cfg)
        runner.train()
    finally:
        torch.set_num_threads(threads)
    return runner


def weights(path):
    return torch.load(path, weights_only=True)['state_dict']


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def failing_save(target, error):
    """``torch.save`` that writes a few bytes of files named like
    ``target``, then fails with ``error``."""

    def save(obj, f, *args, **kwargs):
        if target in str(getattr(f, 'name', '')):
            f.write(b'PK\x03\x04 a few bytes')
            raise error
        return SAVE(obj, f, *args, **kwargs)

    return save


def partial_files(folder):
    return [n for n in os.listdir(folder) if n.endswith('.partial')]


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


@pytest.fixture(scope='module')
def reference(smoke_root, tmp_path_factory):
    """iter_4.pth of an uninterrupted run."""
    work_dir = tmp_path_factory.mktemp('uninterrupted')
    cwd = os.getcwd()
    os.chdir(smoke_root)
    try:
        train(smoke_cfg(work_dir))
    finally:
        os.chdir(cwd)
    return weights(work_dir / 'iter_4.pth')


def test_failed_save_keeps_the_previous_checkpoint_to_resume(
        smoke_root, tmp_path, monkeypatch, reference):
    monkeypatch.chdir(smoke_root)
    monkeypatch.setattr(
        torch, 'save',
        failing_save('iter_4.pth',
                     OSError(errno.ENOSPC, 'No space left on device')))
    with pytest.raises(OSError, match='No space left'):
        train(smoke_cfg(tmp_path))
    monkeypatch.setattr(torch, 'save', SAVE)
    # mmengine's hook would have removed iter_2.pth before writing iter_4.
    assert last_checkpoint(tmp_path) == str(tmp_path / 'iter_2.pth')
    assert not (tmp_path / 'iter_4.pth').exists()
    assert partial_files(tmp_path) == []
    assert weights(tmp_path / 'iter_2.pth').keys() == reference.keys()
    train(smoke_cfg(tmp_path, resume=True))
    assert_same_weights(weights(tmp_path / 'iter_4.pth'), reference)
    assert not (tmp_path / 'iter_2.pth').exists()  # max_keep_ckpts=1


KILLED_TRAIN = """
import os, runpy, signal, sys
import torch
save = torch.save
def killed_save(obj, f, *args, **kwargs):
    if 'iter_4.pth' in str(getattr(f, 'name', '')):
        f.write(b'PK a part of the checkpoint')
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return save(obj, f, *args, **kwargs)
torch.save = killed_save
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def run_train(args, cwd, prefix=()):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([
        sys.executable, *prefix,
        osp.join(REPO, 'tools', 'train.py'), SMOKE, *args, '--cfg-options',
        'default_hooks.checkpoint.max_keep_ckpts=1'
    ],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_killed_save_keeps_the_previous_checkpoint_to_resume(
        smoke_root, tmp_path, reference):
    proc = run_train(['--work-dir', str(tmp_path)],
                     smoke_root,
                     prefix=['-c', KILLED_TRAIN])
    assert proc.returncode == -9, proc.stderr[-3000:]
    assert last_checkpoint(tmp_path) == str(tmp_path / 'iter_2.pth')
    assert not (tmp_path / 'iter_4.pth').exists()
    [partial] = partial_files(tmp_path)
    assert partial.startswith('.iter_4.pth.')
    proc = run_train(['--work-dir', str(tmp_path), '--resume'], smoke_root)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert f'Removed {tmp_path / partial}, left by a save' in out
    assert_same_weights(weights(tmp_path / 'iter_4.pth'), reference)
    assert partial_files(tmp_path) == []


def test_failed_best_save_keeps_the_previous_best(smoke_root, tmp_path,
                                                  monkeypatch):
    monkeypatch.chdir(smoke_root)
    runner = train(smoke_cfg(tmp_path))
    [hook] = [h for h in runner.hooks if isinstance(h, AtomicCheckpointHook)]
    old_best = hook.best_ckpt_path
    old_bytes = open(old_best, 'rb').read()
    monkeypatch.setattr(torch, 'save',
                        failing_save('best_', OSError('preempted')))
    with pytest.raises(OSError, match='preempted'):
        hook._save_best_checkpoint(runner, {'fewshot/accuracy': 1000.})
    monkeypatch.setattr(torch, 'save', SAVE)
    assert runner.message_hub.get_info('best_ckpt') == old_best
    assert open(old_best, 'rb').read() == old_bytes
    assert partial_files(tmp_path) == []
    assert [n for n in os.listdir(tmp_path)
            if n.startswith('best_')] == [osp.basename(old_best)]
    # Two better scores at iteration 4: the new best replaces the old one,
    # also when it has the same name.
    for score in (2000., 3000.):
        hook._save_best_checkpoint(runner, {'fewshot/accuracy': score})
        best = [n for n in os.listdir(tmp_path) if n.startswith('best_')]
        assert best == ['best_fewshot_accuracy_iter_4.pth']
        ckpt = torch.load(tmp_path / best[0], weights_only=True)
        assert ckpt['message_hub']['runtime_info']['best_score'] == score
    assert last_checkpoint(tmp_path) == str(tmp_path / 'iter_4.pth')
    # A best checkpoint holds no optimizer state: it cannot resume a run.
    cfg = smoke_cfg(tmp_path / 'resumed', resume=True)
    cfg.load_from = str(tmp_path / best[0])
    with pytest.raises(ValueError) as err:
        train(cfg)
    assert str(err.value).startswith(
        f"{cfg.load_from} cannot resume a run: it has no 'optimizer'.")
