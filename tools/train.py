# Copyright (c) mmfsar contributors. All rights reserved.
"""Train a CLIP-FSAR model (MMAction2's tools/train.py, with mmfsar)."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch.distributed as torch_dist  # noqa: E402
from mmaction.registry import RUNNERS  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmfsar  # noqa: E402,F401  (workarounds + registration first)
from mmfsar.engine import checkpoint  # noqa: E402
from mmfsar.engine.optim_wrapper import AMP_WRAPPERS  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a few-shot action '
                                     'recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work dir')
    checkpoint.add_trust_argument(parser)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: FiniteOptimWrapper becomes '
        'FiniteAmpOptimWrapper (a dynamic loss scale, and non-finite steps '
        'skipped with BatchNorm statistics restored), OptimWrapper becomes '
        'mmengine\'s AmpOptimWrapper')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size over '
        'auto_scale_lr.base_batch_size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='set different seeds for different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic options for the CUDNN backend')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
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
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        amp_types = dict(AMP_WRAPPERS, **{t: t for t in AMP_WRAPPERS.values()})
        if wrapper not in amp_types:
            raise ValueError(f'--amp does not support optim_wrapper.type='
                             f'{wrapper!r}')
        cfg.optim_wrapper.type = amp_types[wrapper]
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    randomness = dict(cfg.get('randomness', None) or dict(seed=None))
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if args.deterministic:
        randomness['deterministic'] = True
    cfg.randomness = randomness
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint.add_trusted_checkpoints(cfg, args.trust_checkpoint)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg \
        else RUNNERS.build(cfg)
    runner.train()
    if torch_dist.is_initialized():
        # Exiting with a live gloo group can abort the process.
        torch_dist.destroy_process_group()


if __name__ == '__main__':
    main()
