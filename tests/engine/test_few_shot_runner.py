# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp

import pytest
from mmaction.registry import RUNNERS
from mmengine.config import Config

from mmfsar.utils import PlaceholderError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


def test_child_config_moves_every_dataloader_in_one_line(
        smoke_root, tmp_path, monkeypatch):
    """A config in another codebase sets data_root once; the runner's
    train, val and test datasets all read from there."""
    data = str(smoke_root / 'data' / 'smoke')
    child = tmp_path / 'other_repo' / 'configs' / 'my_smoke.py'
    child.parent.mkdir(parents=True)
    child.write_text(f'_base_ = [{SMOKE!r}]\ndata_root = {data!r}\n')
    monkeypatch.chdir(tmp_path)  # no ./data here
    cfg = Config.fromfile(str(child))
    cfg.work_dir = str(tmp_path / 'wd')
    runner = RUNNERS.build(cfg)
    assert type(runner).__name__ == 'FewShotRunner'
    for loader in (runner.train_dataloader, runner.val_dataloader,
                   runner.test_dataloader):
        video = loader.dataset.dataset
        assert video.ann_file.startswith(f'{data}/annotations/')
        assert video.data_prefix['video'] == data
        assert len(loader.dataset.get_episode(0)['query']) > 0
    assert runner.cfg.test_dataloader.dataset.dataset.metainfo.classes == (
        f'{data}/annotations/test_classes.txt')


def test_unknown_placeholder_stops_the_runner(tmp_path):
    cfg = Config.fromfile(SMOKE)
    cfg.work_dir = str(tmp_path / 'wd')
    cfg.val_dataloader.dataset.dataset.ann_file = '${val_root}/val.txt'
    with pytest.raises(PlaceholderError) as err:
        RUNNERS.build(cfg)
    assert 'val_dataloader.dataset.dataset.ann_file holds the placeholder ' \
        "${val_root}, but the config has no top-level key 'val_root'" in str(
            err.value)


def test_loops_resolve_under_a_plain_runner(smoke_root, tmp_path, monkeypatch):
    """Without runner_type (a config on MMAction2's runtime, or
    ``Runner.from_cfg``), mmfsar's loops resolve their own dataloader."""
    from mmengine.runner import Runner
    data = str(smoke_root / 'data' / 'smoke')
    monkeypatch.chdir(tmp_path)  # no ./data here
    cfg = Config.fromfile(SMOKE)
    cfg.pop('runner_type')
    cfg.merge_from_dict(
        dict(
            data_root=data,
            work_dir=str(tmp_path / 'wd'),
            test_dataloader=dict(dataset=dict(num_episodes=4))))
    runner = Runner.from_cfg(cfg)
    assert type(runner) is Runner
    assert runner.test()['fewshot/num_episodes'] == 4
    loader = runner.test_loop.dataloader
    assert loader.dataset.dataset.ann_file == f'{data}/annotations/test.txt'
    cfg.val_dataloader.dataset.dataset.ann_file = '${val_root}/val.txt'
    message = r'val_dataloader\.dataset\.dataset\.ann_file holds the '
    with pytest.raises(PlaceholderError, match=message + r'placeholder \$'):
        Runner.from_cfg(cfg).val_loop
