# Copyright (c) mmfsar contributors. All rights reserved.
import json
import os.path as osp

import pytest
from mmaction.registry import RUNNERS
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


def build_runner(tmp_path, name, **options):
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(tmp_path / name)
    cfg.experiment_name = name
    cfg.test_dataloader.dataset.num_episodes = 240
    cfg.test_evaluator.out_file = str(tmp_path / f'{name}.jsonl')
    cfg.merge_from_dict(options)
    return RUNNERS.build(cfg)


def read(path):
    return [json.loads(line) for line in open(path)]


def test_cached_and_end_to_end_give_identical_predictions(
        smoke_root, tmp_path, monkeypatch):
    monkeypatch.chdir(smoke_root)
    cached = build_runner(tmp_path, 'cached').test()
    full = build_runner(tmp_path, 'full', **{
        'test_cfg.cache_features': False
    }).test()
    assert cached['fewshot/num_episodes'] == 240
    assert cached['fewshot/accuracy'] == full['fewshot/accuracy']
    assert cached['fewshot/ci95'] == full['fewshot/ci95']
    a, b = read(tmp_path / 'cached.jsonl'), read(tmp_path / 'full.jsonl')
    assert [x['preds'] for x in a] == [x['preds'] for x in b]
    assert [x['class_ids'] for x in a] == [x['class_ids'] for x in b]


def test_random_test_pipeline_is_refused_unless_fixed_view(
        smoke_root, tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(smoke_root)
    random_sampling = 'test_dataloader.dataset.dataset.pipeline.1.test_mode'
    runner = build_runner(tmp_path, 'random', **{random_sampling: False})
    with pytest.raises(ValueError, match='evaluation pipeline is random'):
        runner.test()
    runner = build_runner(
        tmp_path, 'fixed', **{
            random_sampling: False,
            'test_cfg.fixed_view': True
        })
    first = runner.test()
    second = build_runner(
        tmp_path, 'fixed2', **{
            random_sampling: False,
            'test_cfg.fixed_view': True
        }).test()
    assert first['fewshot/accuracy'] == second['fewshot/accuracy']
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'fixed_view=True' in log
