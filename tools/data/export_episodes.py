# Copyright (c) mmfsar contributors. All rights reserved.
"""Export the episodes of a split as names, to share or re-evaluate them.

Writes one JSON line per episode, in episode order, with the episode's
``classes`` (names, in episode-label order) and its ``support`` and
``query`` videos (paths relative to the data root, K and Q per class in
class order); see ``mmfsar/datasets/episode_file.py``. Only the annotation
files are read, not the videos. Evaluate a file with::

    python tools/test.py CONFIG CHECKPOINT \\
        --cfg-options test_dataloader.dataset.episodes_file=FILE

which refuses, listing them, when this copy of the data lacks videos or
classes the file needs.

Example::

    python tools/data/export_episodes.py configs/clip_fsar_hmdb51_1shot.py \\
        --split test --out hmdb51_test_1shot.jsonl
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402
from mmaction.registry import DATASETS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import mmfsar  # noqa: E402,F401  (workarounds + registration first)
from mmfsar.datasets import episode_record, write_episode_file  # noqa: E402
from mmfsar.utils import resolve_placeholders  # noqa: E402

CHUNK = 10000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Export the episodes of a split to a JSON-lines file')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--split',
        choices=['train', 'val', 'test'],
        default='test',
        help='whose episodes: {split}_dataloader.dataset (default: test)')
    parser.add_argument('--out', required=True, help='output .jsonl file')
    parser.add_argument(
        '--num-episodes',
        type=int,
        help='export the first N episodes (default: the dataset length)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value, e.g. data_root=/data')
    return parser.parse_args(argv)


def build_dataset(cfg: Config, split: str):
    """The split's ``EpisodicDataset``, from the annotation files only."""
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    cfg = resolve_placeholders(cfg)
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        sys.exit(f'{split}_dataloader is not set in the config.')
    dataset_cfg = loader['dataset']
    if dataset_cfg.get('type') != 'EpisodicDataset':
        sys.exit(f'{split}_dataloader.dataset is a '
                 f'{dataset_cfg.get("type")}, not an EpisodicDataset.')
    dataset_cfg['check_videos'] = False
    return DATASETS.build(dataset_cfg)


def episode_lines(dataset, num_episodes: int):
    """One :func:`episode_record` per episode, computed in chunks."""
    names = np.asarray(dataset.class_names, dtype=object)
    keys = np.asarray(
        [dataset.video_key(i) for i in range(len(dataset.dataset))],
        dtype=object)
    for start in range(0, num_episodes, CHUNK):
        indices = np.arange(start, min(start + CHUNK, num_episodes))
        episodes = dataset.get_episodes(indices)
        for row, index in enumerate(indices):
            yield episode_record(index,
                                 names[episodes['class_ids'][row]].tolist(),
                                 keys[episodes['support'][row]].tolist(),
                                 keys[episodes['query'][row]].tolist())


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    dataset = build_dataset(cfg, args.split)
    num = len(dataset) if args.num_episodes is None else args.num_episodes
    if num < 1 or (dataset.test_mode and num > len(dataset)):
        sys.exit(f'--num-episodes must be in [1, {len(dataset)}], got {num}.')
    count = write_episode_file(args.out, episode_lines(dataset, num))
    print(f'Wrote {count} episodes of the {args.split} split '
          f'({dataset.num_ways}-way {dataset.num_shots}-shot, '
          f'{dataset.num_queries} queries per class, episode_seed '
          f'{dataset.episode_seed}) to {args.out}')


if __name__ == '__main__':
    main()
