# Copyright (c) mmfsar contributors. All rights reserved.
"""Plot a run's training losses and validation accuracy from its log.

LOG is a work dir (its latest run's ``<timestamp>/vis_data/scalars.json``,
or ``<timestamp>/<timestamp>.log`` where there is no scalars file), a
``scalars.json`` or a ``.log`` file::

    python tools/analysis_tools/plot_fewshot_curves.py work_dirs/demo \\
        --out work_dirs/demo/training_curves.png --chance 20

Left: every training loss (``loss*`` keys, or ``--keys``) over iterations.
Right: validation ``fewshot/accuracy`` with its 95% interval as error bars
(and the text-only ``fewshot/text_accuracy`` when the run logged it).
"""
import argparse
import glob
import json
import os.path as osp
import re
from typing import List, Optional, Sequence

_TRAIN = re.compile(r'Iter\(train\)\s*\[\s*(\d+)\s*/\s*\d+\]')
_VAL = re.compile(r'Iter\(val\)\s*\[\s*\d+\s*/\s*\d+\]')
_SAVED = re.compile(r'Saving checkpoint at (\d+) iterations')
# 'key: value' items; keys may hold spaces (per-class accuracy of class
# names), values do not (eta 0:06:19 is one value, and not a number).
_ITEM = re.compile(r'\s*(.+?):\s+(\S+)')


def find_log(path: str) -> str:
    """The scalars.json or .log file of ``path`` (a file or a work dir)."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'No log file or work dir at {path}')
    for pattern in ('*/vis_data/scalars.json', '*/*.log'):
        runs = sorted(glob.glob(osp.join(path, pattern)))
        if runs:
            return runs[-1]
    raise FileNotFoundError(
        f'{path} has no run log (<timestamp>/vis_data/scalars.json or '
        '<timestamp>/<timestamp>.log).')


def _parse_text_log(path: str) -> List[dict]:
    """Scalars of an mmengine text log: training lines at their iteration,
    validation lines at the iteration they followed."""
    out, step = [], 0
    with open(path) as f:
        for number, line in enumerate(f, 1):
            saved = _SAVED.search(line)
            if saved:
                step = max(step, int(saved.group(1)))
            train, val = _TRAIN.search(line), _VAL.search(line)
            if not (train or val):
                continue
            rest = line[(train or val).end():]
            values = {}
            for key, value in _ITEM.findall(rest):
                try:
                    values[key.strip()] = float(value)
                except ValueError:
                    pass  # eta and other text
            if train:
                step = int(train.group(1))
                out.append(dict(values, iter=step, step=step))
            else:
                out.append(dict(values, step=step))
    return out


def load_scalars(path: str) -> List[dict]:
    """One dict per logged line of a run, training lines with ``iter``,
    validation lines with ``step`` (the training iteration)."""
    path = find_log(path)
    if path.endswith('.json'):
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    if path.endswith('.log'):
        return _parse_text_log(path)
    raise ValueError(f'{path}: expected a scalars.json or a .log file.')


def plot_curves(scalars: Sequence[dict],
                out_file: str,
                keys: Optional[Sequence[str]] = None,
                chance: Optional[float] = None,
                title: Optional[str] = None) -> None:
    """Training losses (left) and validation accuracy (right) to a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train = [s for s in scalars if 'iter' in s]
    val = [s for s in scalars if 'fewshot/accuracy' in s]
    if keys is None:
        keys = sorted({k for s in train for k in s if k.startswith('loss')})
    if not train and not val:
        raise ValueError('The log has no training or validation lines.')
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for key in keys:
        points = [(s['iter'], s[key]) for s in train if key in s]
        if not points:
            raise KeyError(f'No training line of the log has {key!r}; '
                           f'keys: {sorted({k for s in train for k in s})}')
        ax[0].plot(*zip(*points), label=key)
    ax[0].set(xlabel='iteration', ylabel='loss', title='Training losses')
    if keys:
        ax[0].legend()
    for key, label in (('fewshot/accuracy', 'few-shot'),
                       ('fewshot/text_accuracy', 'text only')):
        points = [s for s in val if key in s]
        if points:
            ci = key.replace('accuracy', 'ci95')
            ax[1].errorbar([s['step'] for s in points],
                           [s[key] for s in points],
                           yerr=[s.get(ci, 0) for s in points],
                           marker='o',
                           capsize=3,
                           label=label)
    if chance is not None:
        ax[1].axhline(
            chance, color='grey', linestyle='--', label=f'chance {chance:g}%')
    ax[1].set(
        xlabel='iteration',
        ylabel='accuracy (%)',
        title='Validation accuracy (95% interval)',
        ylim=(0, 100))
    ax[1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('log', help='work dir, scalars.json or .log file')
    parser.add_argument(
        '--out',
        help='PNG to write; defaults to training_curves.png beside the log')
    parser.add_argument(
        '--keys', nargs='+', help='training keys to plot (default: loss*)')
    parser.add_argument(
        '--chance', type=float, help='draw the chance level, in %%')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    log = find_log(args.log)
    scalars = load_scalars(log)
    out = args.out or osp.join(
        args.log if osp.isdir(args.log) else osp.dirname(log),
        'training_curves.png')
    plot_curves(scalars, out, args.keys, args.chance, args.title)
    num_val = sum('fewshot/accuracy' in s for s in scalars)
    print(f'{log}: {len(scalars) - num_val} training and {num_val} '
          f'validation lines -> {out}')


if __name__ == '__main__':
    main()
