# Copyright (c) mmfsar contributors. All rights reserved.
"""End-to-end runs of the tools on the smoke config (subprocesses)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
TOOLS = osp.join(REPO, 'tools')


def run(args, cwd, timeout=300, check=True):
    env = dict(os.environ)
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['OMP_NUM_THREADS'] = '1'
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} failed ({proc.returncode}):\n{out}')
    return proc.returncode, out


def accuracy_line(out):
    match = re.search(r'fewshot/accuracy: ([\d.]+)  fewshot/ci95: ([\d.]+)',
                      out)
    assert match, out[-3000:]
    return float(match.group(1)), float(match.group(2))


def weights(path):
    return torch.load(path, weights_only=True)['state_dict']


@pytest.fixture(scope='module')
def trained(smoke_root):
    """Train the smoke config for 4 iterations (checkpoints at 2 and 4)."""
    run([sys.executable, f'{TOOLS}/train.py', SMOKE, '--work-dir', 'wd'],
        smoke_root)
    return smoke_root


def test_train_writes_checkpoints_loadable_with_weights_only(trained):
    for name in ('iter_2.pth', 'iter_4.pth'):
        ckpt = torch.load(trained / 'wd' / name, weights_only=True)
        assert ckpt['meta']['iter'] == int(name[5])
        assert any(k.startswith('text_encoder.') for k in ckpt['state_dict'])
    assert any(
        f.startswith('best_fewshot_accuracy')
        for f in os.listdir(trained / 'wd'))


def test_test_tool_prints_accuracy_and_ci(trained):
    _, out = run([
        sys.executable, f'{TOOLS}/test.py', SMOKE, 'wd/iter_4.pth',
        '--work-dir', 'wd_test', '--dump', 'one.jsonl'
    ], trained)
    acc, ci = accuracy_line(out)
    results = [json.loads(line) for line in open(trained / 'one.jsonl')]
    assert len(results) == 21
    assert [r['episode_idx'] for r in results] == list(range(21))
    mean = sum(r['accuracy'] for r in results) / len(results)
    assert abs(mean - acc) < 0.01 and ci > 0
    # --cfg-options reach the loop and the dataset as named.
    _, out = run([
        sys.executable, f'{TOOLS}/test.py', SMOKE, 'wd/iter_4.pth',
        '--work-dir', 'wd_test', '--cfg-options',
        'test_dataloader.dataset.num_episodes=7',
        'test_cfg.cache_features=False'
    ], trained)
    assert '(7 episodes)' in out
    assert 'Episodes (end to end)' in out


def test_resume_reaches_the_same_weights(trained):
    run([
        sys.executable, f'{TOOLS}/train.py', SMOKE, '--work-dir', 'wd_resume',
        '--resume',
        str(trained / 'wd' / 'iter_2.pth')
    ], trained)
    full, resumed = weights(trained / 'wd' /
                            'iter_4.pth'), weights(trained / 'wd_resume' /
                                                   'iter_4.pth')
    assert full.keys() == resumed.keys()
    for key in full:
        assert torch.allclose(
            full[key].float(), resumed[key].float(), atol=1e-6), key


def test_dist_test_two_processes_equals_one(trained):
    _, one = run([
        sys.executable, f'{TOOLS}/test.py', SMOKE, 'wd/iter_4.pth',
        '--work-dir', 'wd_one', '--dump', 'single.jsonl'
    ], trained)
    port = str(29500 + os.getpid() % 1000)
    _, two = run([
        'env', f'PORT={port}', 'bash', f'{TOOLS}/dist_test.sh', SMOKE,
        'wd/iter_4.pth', '2', '--work-dir', 'wd_two', '--dump', 'double.jsonl'
    ], trained)
    assert 'Encoding videos (rank 0, 2 ranks)' in two
    assert accuracy_line(one) == accuracy_line(two)
    single = open(trained / 'single.jsonl').read()
    double = open(trained / 'double.jsonl').read()
    assert single == double


def test_dist_train_derives_accumulation_from_the_world_size(smoke_root):
    port = str(29600 + os.getpid() % 1000)
    _, out = run([
        'env', f'PORT={port}', 'bash', f'{TOOLS}/dist_train.sh', SMOKE, '2',
        '--work-dir', 'wd_dist_train', '--cfg-options',
        'train_cfg.episodes_per_step=4'
    ], smoke_root)
    assert ('4 episodes per optimizer step (train_cfg.episodes_per_step=4) '
            '= 2 process(es) x 1 episode(s) per iteration x 2 accumulated '
            'iteration(s); 4 iterations make 2 optimizer steps.') in out
    # Adam stepped once per 2 iterations.
    for iteration, steps in ((2, 1), (4, 2)):
        ckpt = torch.load(
            smoke_root / 'wd_dist_train' / f'iter_{iteration}.pth',
            weights_only=True)
        state = ckpt['optimizer']['state'].values()
        assert {float(s['step']) for s in state} == {steps}


def write_external_config(folder):
    """A downstream config outside the repository: MMAction2's own runtime,
    mmfsar's model, schedule and smoke data by path."""
    folder.mkdir(exist_ok=True)
    path = folder / 'my_fsar.py'
    path.write_text(f"""_base_ = [
    'mmaction::_base_/default_runtime.py',
    '{REPO}/configs/_base_/models/clip_fsar_tiny.py',
    '{REPO}/configs/_base_/schedules/clip_fsar_adam.py',
    '{REPO}/configs/smoke/smoke_data.py',
]
custom_imports = dict(imports=['mmfsar'], allow_failed_imports=False)
model = dict(head=dict(num_layers=2))
train_cfg = dict(max_iters=2, val_interval=2)
optim_wrapper = dict(accumulative_counts=1)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2))
log_processor = dict(by_epoch=False)
""")
    return path


@pytest.mark.parametrize('tool', ['mmfsar', 'mmaction'])
def test_external_config_trains_with_either_train_tool(smoke_root, tool):
    config = write_external_config(smoke_root / 'my_codebase')
    if tool == 'mmfsar':
        script = f'{TOOLS}/train.py'
    else:
        import mmaction
        script = osp.join(
            osp.dirname(mmaction.__file__), '.mim', 'tools', 'train.py')
    work_dir = f'wd_external_{tool}'
    _, out = run([sys.executable, script,
                  str(config), '--work-dir', work_dir], smoke_root)
    assert 'fewshot/accuracy' in out
    ckpt = torch.load(
        smoke_root / work_dir / 'iter_2.pth',
        map_location='cpu',
        weights_only=False)
    assert 'head.layers.1.norm.weight' in ckpt['state_dict']


BASELINE_HEADS = dict(
    otam="dict(_delete_=True, type='OTAMHead')",
    trx="dict(_delete_=True, type='TRXHead', in_channels=64, num_frames=4, "
    'proj_channels=32)',
    tsn="dict(_delete_=True, type='FewShotTSNHead')",
    cross_transformer="dict(_delete_=True, type='CrossTransformerHead', "
    'in_channels=64, hidden_channels=32)')


@pytest.mark.parametrize('head', list(BASELINE_HEADS))
def test_baseline_head_trains_and_tests_with_the_tools(smoke_root, head):
    """A FewShotRecognizer with a baseline head and no text tower, through
    train.py and test.py: the checkpoint holds no text tower (nor TRX's
    tuples), and cached and end-to-end tests predict the same."""
    config = smoke_root / f'{head}_smoke.py'
    config.write_text(f"""_base_ = '{SMOKE}'
model = dict(
    type='FewShotRecognizer',
    text_encoder=None,
    loss_text=None,
    head={BASELINE_HEADS[head]})
""")
    _, out = run([
        sys.executable, f'{TOOLS}/train.py',
        str(config), '--work-dir', f'wd_{head}'
    ], smoke_root)
    assert 'loss_fsl: ' in out and 'loss_text: ' not in out
    state = weights(smoke_root / f'wd_{head}' / 'iter_4.pth')
    assert not any(
        k.startswith('text_encoder.') or '.tuples' in k or 'norm_v' in k
        for k in state)
    if head == 'trx':
        assert 'head.transformers.1.k_linear.weight' in state
    preds = []
    for cached in (True, False):
        dump = smoke_root / f'{head}_{cached}.jsonl'
        _, out = run([
            sys.executable, f'{TOOLS}/test.py',
            str(config), f'wd_{head}/iter_4.pth', '--work-dir',
            f'wd_{head}_test', '--dump',
            str(dump), '--cfg-options', f'test_cfg.cache_features={cached}',
            'test_dataloader.dataset.num_episodes=40'
        ], smoke_root)
        acc, ci = accuracy_line(out)
        assert ci > 0
        preds.append([json.loads(line)['preds'] for line in open(dump)])
    assert len(preds[0]) == 40 and preds[0] == preds[1]
