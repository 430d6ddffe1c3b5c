# Copyright (c) mmfsar contributors. All rights reserved.
"""HyRSM++ and MoLo through tools/train.py and tools/test.py (subprocesses,
smoke videos): training logs every loss term, and the cached evaluation
predicts exactly what end-to-end evaluation does."""
import json
import os.path as osp
import re
import sys

import pytest
import torch
from test_tools import TOOLS, run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TERMS = dict(
    hyrsm=('loss_fsl', 'loss_class', 'loss_temporal'),
    molo=('loss_fsl', 'loss_class', 'loss_contrastive', 'loss_recons'))


@pytest.mark.parametrize('method', ['hyrsm', 'molo'])
def test_train_then_cached_and_end_to_end_tests_agree(smoke_root, method):
    config = osp.join(REPO, 'configs', 'smoke', f'{method}_tiny_smoke.py')
    work_dir = f'wd_{method}'
    _, out = run(
        [sys.executable, f'{TOOLS}/train.py', config, '--work-dir', work_dir],
        smoke_root)
    for term in TERMS[method]:
        assert re.search(rf'{term}: \d', out), (term, out[-2000:])
    ckpt = smoke_root / work_dir / 'iter_2.pth'
    state = torch.load(ckpt, weights_only=True)['state_dict']
    assert any(k.startswith('head.') for k in state)
    preds = {}
    for name, options in (('cached', []),
                          ('full',
                           ['--cfg-options',
                            'test_cfg.cache_features=False'])):
        dump = f'{method}_{name}.jsonl'
        _, out = run([
            sys.executable, f'{TOOLS}/test.py', config,
            str(ckpt), '--work-dir', f'{work_dir}_{name}', '--dump', dump,
            *options
        ], smoke_root)
        assert 'fewshot/accuracy' in out
        preds[name] = [
            json.loads(line)['preds'] for line in open(smoke_root / dump)
        ]
    assert len(preds['cached']) == 21
    assert preds['cached'] == preds['full']
