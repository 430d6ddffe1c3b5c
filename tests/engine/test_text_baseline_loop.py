# Copyright (c) mmfsar contributors. All rights reserved.
"""``EpisodicTestLoop(text_baseline=True)`` needs a text tower (its
agreement with the API and between both paths is tested in
tests/apis/test_inference.py)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


@pytest.mark.parametrize('cache_features', [True, False])
def test_text_baseline_refused_without_text_tower(smoke_root, tmp_path,
                                                  monkeypatch, cache_features):
    monkeypatch.chdir(smoke_root)
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(tmp_path)
    cfg.model = dict(
        type='FewShotRecognizer',
        backbone=cfg.model.backbone,
        head=dict(type='OTAMHead'),
        data_preprocessor=cfg.model.data_preprocessor)
    cfg.test_cfg.text_baseline = True
    cfg.test_cfg.cache_features = cache_features
    with pytest.raises(
            ValueError,
            match=r'text_baseline=True classifies queries by class text, '
            r'but the model \(FewShotRecognizer\) has no text tower'):
        Runner.from_cfg(cfg).test()
