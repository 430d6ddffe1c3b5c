# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp

import pytest
from mmengine.config import Config

import mmfsar
from mmfsar.utils import (PlaceholderError, config_dir, config_path,
                          resolve_placeholders)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def loaders(**dataset):
    return {
        f'{split}_dataloader': dict(dataset=dict(dataset))
        for split in ('train', 'val', 'test')
    }


def test_placeholders_follow_the_final_keys():
    cfg = Config(
        dict(
            data_root='/data/x',
            ann_root='${data_root}/annotations',
            model=dict(text='${left alone}'),
            **loaders(
                ann_file='${ann_root}/a.txt',
                data_prefix=dict(video='${data_root}'),
                pipeline=[dict(type='X', key='${data_root}/k')])))
    cfg.merge_from_dict(dict(data_root='/elsewhere'))
    resolve_placeholders(cfg)
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.ann_file == '/elsewhere/annotations/a.txt'
        assert dataset.data_prefix.video == '/elsewhere'
        assert dataset.pipeline[0]['key'] == '/elsewhere/k'
    assert cfg.ann_root == '/elsewhere/annotations'
    assert cfg.model.text == '${left alone}'


@pytest.mark.parametrize('extra,message', [
    (dict(ann_file='${data_rot}/a.txt'),
     "test_dataloader.dataset.ann_file holds the placeholder ${data_rot}, "
     "but the config has no top-level key 'data_rot' (top-level string "
     'keys: data_root)'),
    (dict(ann_file='${num}/a.txt'), 'but num is 3, not a string'),
    (dict(ann_file='${a}'), 'the placeholders form a cycle: ${a} -> ${b} '
     '-> ${a}'),
])
def test_bad_placeholders_name_the_key(extra, message):
    cfg = Config(
        dict(data_root='/d', num=3, test_dataloader=dict(dataset=extra)))
    if extra['ann_file'] == '${a}':
        cfg.merge_from_dict(dict(a='${b}', b='x/${a}'))
    with pytest.raises(PlaceholderError) as err:
        resolve_placeholders(cfg)
    assert message in str(err.value)


def test_config_path_finds_the_shipped_configs():
    assert config_dir() == osp.join(REPO, 'configs')
    path = mmfsar.config_path('clip_fsar_hmdb51_5shot.py')
    assert path == osp.join(REPO, 'configs', 'clip_fsar_hmdb51_5shot.py')
    assert config_path('_base_/datasets/hmdb51_fsar.py').endswith(
        'configs/_base_/datasets/hmdb51_fsar.py')
    with pytest.raises(FileNotFoundError, match='No config'):
        config_path('../pyproject.toml')
    with pytest.raises(FileNotFoundError, match='No config'):
        config_path('nope.py')
