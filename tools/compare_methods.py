# Copyright (c) mmfsar contributors. All rights reserved.
"""Train and test every few-shot method on the synthetic benchmark.

For each method's synthetic config (``configs/<method>_synthetic_1shot.py``,
all on the shared recipe of ``configs/_base_/synthetic_comparison.py``:
the same videos, episodes, random ResNet-18 frame encoder and 200-episode
schedule, so that only the head differs) this trains with
``tools/train.py`` (validating on the val classes), tests the best
checkpoint on the same fixed 5-way 1-shot episodes of the test classes
with the cached loop, then again with every query's frames reversed, and
prints one table: accuracy with its 95% interval, accuracy
with reversed queries, trainable parameters, training seconds per episode
and the cached test time. The table is also written as Markdown and JSON
into the work dir.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.join(ROOT, 'tools'))

from demo import data_options, generate_data, step  # noqa: E402

#: Method name -> its synthetic config, in the order of the table.
METHODS = {
    'CLIP-FSAR': 'clip_fsar_r18_synthetic_1shot.py',
    'OTAM': 'otam_synthetic_1shot.py',
    'TRX': 'trx_synthetic_1shot.py',
    'TSN': 'tsn_synthetic_1shot.py',
    'CrossTransformer': 'cross_transformer_synthetic_1shot.py',
    'HyRSM++': 'hyrsm_synthetic_1shot.py',
    'MoLo': 'molo_synthetic_1shot.py',
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--methods',
        nargs='+',
        default=list(METHODS),
        help=f'methods to compare (default: all of {list(METHODS)})')
    parser.add_argument(
        '--work-dir', default=osp.join(ROOT, 'work_dirs', 'compare'))
    parser.add_argument(
        '--data-root', default=osp.join(ROOT, 'data', 'synthetic'))
    parser.add_argument(
        '--episodes',
        type=int,
        default=1000,
        help='test episodes (default: 1000)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value overrides for every method, in training and '
        'testing (e.g. train_cfg.max_iters=400)')
    return parser.parse_args()


def config_path(method: str) -> str:
    if method not in METHODS:
        raise SystemExit(f'Unknown method {method!r}; choose from '
                         f'{list(METHODS)}.')
    path = osp.join(ROOT, 'configs', METHODS[method])
    if not osp.isfile(path):
        raise SystemExit(f'{method}: its config {path} does not exist.')
    return path


def load_config(config: str, args):
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(config)
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    cfg.merge_from_dict(
        parser.parse_args(
            ['--o', *data_options(args.data_root), *args.cfg_options]).o)
    return cfg


def count_parameters(cfg) -> int:
    """Trainable parameters of the model the config builds."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401
    init_default_scope('mmaction')
    model = MODELS.build(cfg.model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train(config: str, work_dir: str, args) -> str:
    """Train with tools/train.py; returns the best checkpoint."""
    for old in glob.glob(osp.join(work_dir, 'best_*.pth')):
        os.remove(old)
    # One torch thread leaves the second core to the dataloader worker.
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
        '--cfg-options', *data_options(args.data_root), *args.cfg_options
    ],
                   env=env,
                   check=True)
    best = glob.glob(osp.join(work_dir, 'best_fewshot_accuracy_*.pth'))
    if not best:
        raise RuntimeError(f'No best checkpoint in {work_dir}')
    return best[0]


def seconds_per_iteration(work_dir: str) -> float:
    """Mean training iteration time logged by the last run in
    ``work_dir`` (mmengine's ``time``, averaged over each logging window).
    """
    runs = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not runs:
        raise RuntimeError(f'No training log in {work_dir}')
    with open(runs[-1]) as f:
        times = [
            s['time'] for s in map(json.loads, f)
            if 'loss' in s and 'time' in s
        ]
    return sum(times) / len(times)


def test(config: str, checkpoint: str, work_dir: str, args,
         reverse: bool) -> tuple:
    """Test on the fixed episodes; returns (metrics, seconds of the test
    loop)."""
    from mmengine.runner import Runner
    name = 'test_reversed' if reverse else 'test'
    cfg = load_config(config, args)
    cfg.work_dir = osp.join(work_dir, name)
    cfg.experiment_name = name
    cfg.load_from = checkpoint
    cfg.test_dataloader.dataset.num_episodes = args.episodes
    cfg.test_cfg.reverse_queries = reverse
    cfg.test_evaluator.out_file = osp.join(work_dir, f'{name}.jsonl')
    runner = Runner.from_cfg(cfg)
    start = time.time()
    metrics = runner.test()
    return metrics, time.time() - start


def markdown(rows: list, episodes: int) -> str:
    lines = [
        '| method | 5-way 1-shot accuracy (%) | reversed query frames (%) | '
        'parameters | training s/episode | cached test, '
        f'{episodes:,} episodes |', '|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(f"| {r['method']} | {r['accuracy']:.2f} +- "
                     f"{r['ci95']:.2f} | {r['reversed']:.2f} +- "
                     f"{r['reversed_ci95']:.2f} | {r['parameters']:,} | "
                     f"{r['train_s_per_episode']:.3f} | "
                     f"{r['test_seconds']:.1f} s |")
    return '\n'.join(lines)


def main():
    args = parse_args()
    configs = {m: config_path(m) for m in args.methods}
    start = time.time()
    generate_data(args.data_root)
    rows = []
    for method, config in configs.items():
        work_dir = osp.join(args.work_dir, osp.splitext(METHODS[method])[0])
        step(f'{method}: training ({osp.relpath(config, ROOT)})')
        checkpoint = train(config, work_dir, args)
        step(f'{method}: testing {osp.basename(checkpoint)}')
        forward, seconds = test(config, checkpoint, work_dir, args, False)
        reverse, _ = test(config, checkpoint, work_dir, args, True)
        rows.append(
            dict(
                method=method,
                config=osp.relpath(config, ROOT),
                checkpoint=osp.relpath(checkpoint, ROOT),
                accuracy=forward['fewshot/accuracy'],
                ci95=forward['fewshot/ci95'],
                reversed=reverse['fewshot/accuracy'],
                reversed_ci95=reverse['fewshot/ci95'],
                parameters=count_parameters(load_config(config, args)),
                train_s_per_episode=seconds_per_iteration(work_dir) /
                load_config(config, args).train_dataloader.batch_size,
                test_seconds=seconds))
    table = markdown(rows, args.episodes)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'comparison.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'comparison.json'), 'w') as f:
        json.dump(rows, f, indent=2)
    step(f'Done in {time.time() - start:.0f} s')
    print(table)


if __name__ == '__main__':
    main()
