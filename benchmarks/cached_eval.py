# Copyright (c) mmfsar contributors. All rights reserved.
"""Cached-feature episodic evaluation against end-to-end evaluation.

Runs ``EpisodicTestLoop`` twice on the same test episodes, through
mmengine's ``Runner`` built in-process from a config: with
``cache_features=False`` (every episode end to end through the model, as
the released code does) and with ``cache_features=True`` (every distinct
video decoded and encoded once, then the head on cached features). Both
runs use the same weights: ``--checkpoint``, or random weights drawn once
with ``--seed`` and saved into the work dir.

Per episode count it prints both times, the speed-up, the ideal speed-up
(video draws / distinct videos: a 5-way 1-shot episode with 1 query per
class draws 10 videos), the ratio achieved / ideal (target >= 2/3), and
whether the accuracies and the per-episode predictions are identical.
Times are those of the test loop, from ``before_test_epoch`` to
``after_test_epoch`` (the runner's set-up is excluded but printed); the
end-to-end run goes first, so it also warms the page cache for the other.

Data: the config's test split, read relative to the repository root (or
to the work dir for the smoke config, whose ``data/smoke`` videos are
generated there with ``mmfsar.testing.make_video_dataset`` when missing);
``--data-root`` points the test split elsewhere (``DATA_ROOT/test.txt`` or
``DATA_ROOT/annotations/test.txt`` and its ``test_classes.txt``).

Run from the repository root::

    python benchmarks/cached_eval.py
    python benchmarks/cached_eval.py --episodes 200 \\
        --config configs/smoke/clip_fsar_tiny_smoke.py
    python benchmarks/cached_eval.py \\
        --config configs/clip_fsar_hmdb51_1shot.py \\
        --checkpoint work_dirs/hmdb51/best.pth --episodes 10000
"""
import argparse
import gc
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

from _common import (REPO_ROOT, format_table, print_machine, split_files,
                     verdict)

SYNTHETIC = 'configs/clip_fsar_synthetic_1shot.py'
SMOKE = 'configs/smoke/clip_fsar_tiny_smoke.py'
RATIO_TARGET = 2 / 3


def parse_args(argv=None):
    default = SYNTHETIC if osp.exists(osp.join(REPO_ROOT, SYNTHETIC)) \
        else SMOKE
    parser = argparse.ArgumentParser(
        description='Cached-feature vs end-to-end episodic evaluation.')
    parser.add_argument(
        '--config', default=default, help=f'default: {default}')
    parser.add_argument(
        '--checkpoint', help='weights to load (default: random weights)')
    parser.add_argument(
        '--episodes',
        type=int,
        nargs='+',
        default=[1000, 10000],
        help='one or several episode counts')
    parser.add_argument(
        '--data-root', help='folder with test.txt and test_classes.txt')
    parser.add_argument(
        '--work-dir',
        help='runner work dir (default: a temporary folder, removed)')
    parser.add_argument(
        '--num-workers', type=int, help='override the dataloader workers')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random weights')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument(
        '--verbose', action='store_true', help="show the runners' logs")
    parser.add_argument(
        '--device',
        default='auto',
        help='cpu, cuda, cuda:N; auto (default) picks CUDA when available')
    return parser.parse_args(argv)


def select_device(name: str):
    """Make the runner (which uses CUDA whenever it sees it) use ``name``."""
    if name == 'cpu':
        # Before anything initialises CUDA.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    from _common import resolve_device
    device = resolve_device(name)
    if device.type == 'cuda' and device.index is not None:
        import torch
        torch.cuda.set_device(device)
    return device


def test_dataset_cfg(cfg):
    """The wrapped (video) dataset config of the test dataloader."""
    return cfg.test_dataloader.dataset.dataset


def prepare_data(cfg, args, work_dir: str) -> str:
    """Point the test split at the data; return the folder to run in."""
    video_cfg = test_dataset_cfg(cfg)
    if args.data_root:
        root = osp.abspath(args.data_root)
        ann, classes = split_files(root, 'test')
        video_cfg.ann_file = ann
        video_cfg.data_prefix = dict(video=root)
        video_cfg.metainfo = dict(classes=classes)
        return work_dir
    ann = video_cfg.ann_file
    if osp.isabs(ann) or osp.exists(osp.join(REPO_ROOT, ann)):
        return REPO_ROOT
    if 'data/smoke' in ann:
        from mmfsar.testing import make_video_dataset
        if not osp.exists(osp.join(work_dir, ann)):
            make_video_dataset(osp.join(work_dir, 'data', 'smoke'))
        return work_dir
    sys.exit(f'{ann} does not exist under {REPO_ROOT}; give --data-root.')


def save_random_weights(cfg, seed: int, path: str) -> str:
    """Build the config's model with ``seed`` and save its state dict."""
    import torch
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def make_timer():
    """A hook timing the test loop from before to after its epoch."""
    from mmengine.hooks import Hook

    class LoopTimer(Hook):
        priority = 'VERY_HIGH'

        def before_test_epoch(self, runner) -> None:
            self.start = time.perf_counter()

        def after_test_epoch(self, runner, metrics=None) -> None:
            import torch
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.seconds = time.perf_counter() - self.start

    return LoopTimer()


def run_once(base_cfg, args, work_dir: str, weights: str, episodes: int,
             cached: bool) -> dict:
    """One ``Runner.test()``; its metrics, times and per-episode lines."""
    from mmengine.runner import Runner
    name = f'{"cached" if cached else "full"}_{episodes}'
    cfg = base_cfg.copy()
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = f'bench_{name}_{time.time_ns()}'
    cfg.load_from = weights
    cfg.resume = False
    cfg.test_dataloader.dataset.num_episodes = episodes
    out_file = osp.join(work_dir, f'{name}.jsonl')
    cfg.test_evaluator.out_file = out_file
    cfg.test_cfg.cache_features = cached
    if args.num_workers is not None:
        cfg.test_dataloader.num_workers = args.num_workers
        cfg.test_dataloader.persistent_workers = args.num_workers > 0
    if not args.verbose:
        cfg.log_level = 'WARNING'
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    timer = make_timer()
    runner.register_hook(timer)
    metrics = runner.test()
    total = time.perf_counter() - start
    dataset = runner.test_loop.dataloader.dataset
    with open(out_file) as f:
        lines = [json.loads(line) for line in f]
    # Shut down the runner (and any persistent dataloader worker, whose
    # join can take seconds) now rather than inside the next measurement.
    del runner
    gc.collect()
    return dict(
        metrics=metrics,
        seconds=timer.seconds,
        total=total,
        episodes=lines,
        dataset=dataset)


def main(argv=None) -> None:
    args = parse_args(argv)
    device = select_device(args.device)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    from mmengine.config import Config
    print(__doc__.strip().splitlines()[0])
    print()
    print_machine(device)
    config = osp.abspath(args.config)
    if not osp.exists(config):
        config = osp.join(REPO_ROOT, args.config)
    cfg = Config.fromfile(config)
    from mmfsar.utils import resolve_placeholders
    resolve_placeholders(cfg)  # '${data_root}' paths, before reading them
    keep = args.work_dir is not None
    work_dir = osp.abspath(args.work_dir) if keep else tempfile.mkdtemp(
        prefix='mmfsar_cached_eval_')
    os.makedirs(work_dir, exist_ok=True)
    cwd = os.getcwd()
    try:
        run_dir = prepare_data(cfg, args, work_dir)
        os.chdir(run_dir)
        weights = args.checkpoint and osp.join(cwd, args.checkpoint)
        if not weights:
            weights = save_random_weights(
                cfg, args.seed, osp.join(work_dir, 'random_weights.pth'))
        print(f'Config: {osp.relpath(config, REPO_ROOT)}; test data '
              f'{test_dataset_cfg(cfg).ann_file} (run in {run_dir}); '
              f'weights: {args.checkpoint or f"random (seed {args.seed})"}.')
        print()
        rows, notes = [], []
        for episodes in args.episodes:
            print(f'... {episodes} episodes: end to end', flush=True)
            full = run_once(cfg, args, work_dir, weights, episodes, False)
            print(f'... {episodes} episodes: cached features', flush=True)
            cached = run_once(cfg, args, work_dir, weights, episodes, True)
            rows.append(compare(full, cached, episodes))
            notes.append(
                f'{episodes} episodes: runner set-up + loop '
                f'{full["total"]:.1f} s end to end, {cached["total"]:.1f} s '
                'cached')
    finally:
        os.chdir(cwd)
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    print()
    print(
        format_table([
            'episodes', 'draws', 'distinct videos', 'end to end s', 'cached s',
            'speed-up', 'ideal', 'achieved/ideal', f'>= {RATIO_TARGET:.2f}',
            'accuracy e2e', 'accuracy cached', 'identical'
        ], rows, 0))
    print()
    print('Times: the test loop (before_test_epoch to after_test_epoch). '
          'Ideal speed-up: video draws / distinct videos.')
    for note in notes:
        print('  ' + note)


def compare(full: dict, cached: dict, episodes: int) -> list:
    """One table row from the two runs."""
    dataset = full['dataset']
    draws = episodes * dataset.num_ways * (
        dataset.num_shots + dataset.num_queries)
    distinct = len(dataset.episode_videos(range(episodes)))
    speedup = full['seconds'] / cached['seconds']
    ideal = draws / distinct
    acc_full = full['metrics']['fewshot/accuracy']
    acc_cached = cached['metrics']['fewshot/accuracy']
    same = acc_full == acc_cached and [
        (e['episode_idx'], e['preds']) for e in full['episodes']
    ] == [(e['episode_idx'], e['preds']) for e in cached['episodes']]
    return [
        episodes, draws, distinct, f'{full["seconds"]:.1f}',
        f'{cached["seconds"]:.1f}', f'{speedup:.1f}x', f'{ideal:.1f}x',
        f'{speedup / ideal:.2f}',
        verdict(speedup / ideal >= RATIO_TARGET), f'{acc_full:.2f}',
        f'{acc_cached:.2f}', 'yes' if same else 'NO'
    ]


if __name__ == '__main__':
    main()
