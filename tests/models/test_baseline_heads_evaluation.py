# Copyright (c) mmfsar contributors. All rights reserved.
"""Every few-shot head through the real EpisodicTestLoop: cached and end-to-
end evaluation of a FewShotRecognizer give identical predictions."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmfsar.testing import TINY_CLIP, tiny_model_cfg

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
TINY_VIT = dict(type='OpenCLIPVisual', model_name='tiny', model_cfg=TINY_CLIP)
RESNET18 = dict(type='ResNetFrames', depth=18)
TRX = dict(type='TRXHead', in_channels=32, num_frames=4, proj_channels=24)
CROSS = dict(type='CrossTransformerHead', in_channels=32, hidden_channels=16)


def recognizer(head, backbone=TINY_VIT):
    return dict(
        type='FewShotRecognizer',
        backbone=backbone,
        head=head,
        data_preprocessor=dict(
            type='ActionDataPreprocessor', format_shape='NCHW'))


MODELS = {
    'otam': recognizer(dict(type='OTAMHead')),
    'tsn': recognizer(dict(type='FewShotTSNHead')),
    'trx': recognizer(TRX),
    'cross_transformer': recognizer(CROSS),
    # BatchNorm in eval mode: per-video features do not depend on the batch.
    'trx_resnet18': recognizer(dict(TRX, in_channels=512), RESNET18),
    'modulated_trx': tiny_model_cfg(metric=TRX),
}


def run_test(tmp_path, name, model, **options):
    cfg = Config.fromfile(SMOKE)
    cfg.model = model
    cfg.work_dir = str(tmp_path / name)
    cfg.experiment_name = name
    cfg.test_evaluator.out_file = str(tmp_path / f'{name}.jsonl')
    cfg.merge_from_dict({
        # 3-way 2-shot: supports must be grouped by class.
        'test_dataloader.dataset.num_episodes': 30,
        'test_dataloader.dataset.num_shots': 2,
        **options
    })
    metrics = Runner.from_cfg(cfg).test()
    return metrics, [
        json.loads(line) for line in open(cfg.test_evaluator.out_file)
    ]


@pytest.mark.parametrize('name', list(MODELS))
def test_cached_and_end_to_end_give_identical_predictions(
        name, smoke_root, tmp_path, monkeypatch):
    monkeypatch.chdir(smoke_root)
    cached, a = run_test(tmp_path, 'cached', MODELS[name])
    full, b = run_test(tmp_path, 'full', MODELS[name],
                       **{'test_cfg.cache_features': False})
    assert cached['fewshot/num_episodes'] == 30
    assert cached['fewshot/accuracy'] == full['fewshot/accuracy']
    assert [x['preds'] for x in a] == [x['preds'] for x in b]
    assert [x['class_ids'] for x in a] == [x['class_ids'] for x in b]
    # The predictions are not all the same class.
    assert len({p for x in a for p in x['preds']}) > 1
