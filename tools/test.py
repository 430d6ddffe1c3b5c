# Copyright (c) mmfsar contributors. All rights reserved.
"""Test a CLIP-FSAR checkpoint on the fixed episodes of the test split."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch.distributed as torch_dist  # noqa: E402
from mmaction.registry import RUNNERS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import get_rank  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmfsar  # noqa: E402,F401  (workarounds + registration first)
from mmfsar.engine import checkpoint  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a few-shot action recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument(
        '--dump',
        type=str,
        help='write per-episode results (episode index, class ids and '
        'names, support and query video paths, labels, scores, predictions, '
        'accuracy) to a .pkl, .json or .jsonl file')
    parser.add_argument(
        '--text-baseline',
        action='store_true',
        help='also classify every query by the class texts alone (CLIP '
        'zero-shot, no support video) on the same episodes, and report '
        'fewshot/text_accuracy beside fewshot/accuracy')
    checkpoint.add_trust_argument(parser)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value, e.g. '
        'test_dataloader.dataset.num_episodes=1000 '
        'test_cfg.cache_features=False')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge command-line arguments into the config."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle', '.json', '.jsonl')):
            raise ValueError(f'--dump {args.dump}: use a .pkl, .json or '
                             '.jsonl file.')
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
        for evaluator in evaluators:
            if evaluator.get('type') == 'FewShotAccuracy':
                evaluator['out_file'] = args.dump
    if args.text_baseline:
        cfg.test_cfg['text_baseline'] = True
    cfg.load_from = args.checkpoint
    checkpoint.add_trusted_checkpoints(cfg, args.trust_checkpoint)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    metrics = runner.test()
    if get_rank() == 0 and 'fewshot/accuracy' in metrics:
        print(f"fewshot/accuracy: {metrics['fewshot/accuracy']:.2f}  "
              f"fewshot/ci95: {metrics['fewshot/ci95']:.2f}  "
              f"({metrics['fewshot/num_episodes']} episodes)")
    if get_rank() == 0 and 'fewshot/text_accuracy' in metrics:
        print('text only (no support video): fewshot/text_accuracy: '
              f"{metrics['fewshot/text_accuracy']:.2f}  fewshot/text_ci95: "
              f"{metrics['fewshot/text_ci95']:.2f}")
    if torch_dist.is_initialized():
        # Exiting with a live gloo group can abort the process.
        torch_dist.destroy_process_group()


if __name__ == '__main__':
    main()
