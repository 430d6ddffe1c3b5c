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


@pytest.mark.parametrize('cached', [True, False])
def test_non_finite_logits_are_an_error_naming_the_episode(
        smoke_root, tmp_path, monkeypatch, cached):
    """A NaN logit would be scored as class 0 (accuracy 1/N); both paths
    refuse it instead, naming the episode."""
    monkeypatch.chdir(smoke_root)
    runner = build_runner(
        tmp_path, f'nan{cached}', **{
            'test_cfg.cache_features': cached,
            'test_dataloader.dataset.num_episodes': 6
        })
    metric = runner.model.head.metric
    forward, calls = type(metric).forward, []

    def nan_in_episode_one(self, support, labels, query, num_ways, **kw):
        logits = forward(self, support, labels, query, num_ways, **kw)
        calls.append(len(logits))
        # Episodes come in order: the cached path scores them together,
        # the end-to-end path batch by batch.
        if len(logits) > 1:
            logits[1, 0, 0] = float('nan')
        elif len(calls) == 2:
            logits[0, 0, 0] = float('nan')
        return logits

    monkeypatch.setattr(type(metric), 'forward', nan_in_episode_one)
    with pytest.raises(FloatingPointError, match='episode 1'):
        runner.test()


def test_gathering_rows_from_ranks_one_of_which_has_no_video(monkeypatch):
    """More ranks than distinct videos: a rank without videos still takes
    part in the gather and every rank gets every video's rows in order."""
    import threading

    import torch

    from mmfsar.engine.runner import episodic_test_loop as loop

    world, total = 3, 2
    barrier = threading.Barrier(world)
    slots, state = {}, threading.local()

    def exchange(value):
        slots[(state.round, state.rank)] = value
        barrier.wait()
        gathered = [slots[(state.round, r)] for r in range(world)]
        barrier.wait()
        state.round += 1
        return gathered

    monkeypatch.setattr(loop, 'get_dist_info', lambda: (state.rank, world))
    monkeypatch.setattr(loop, 'all_gather_object', exchange)
    monkeypatch.setattr(loop, 'all_gather', exchange)
    videos = torch.arange(total)
    feats = {'frames': torch.randn(total, 4, 3), 'ids': videos * 10}
    results = {}

    def rank(r):
        state.rank, state.round = r, 0
        mine = videos[r::world].tolist()
        local = {k: v[mine] for k, v in feats.items()} if mine else None
        results[r] = loop._gather_rows(local, mine, total, torch.device('cpu'))

    threads = [threading.Thread(target=rank, args=(r, )) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2]
    for out in results.values():
        for key, value in feats.items():
            assert torch.equal(out[key], value), key
