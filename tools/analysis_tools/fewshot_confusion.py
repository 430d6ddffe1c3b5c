# Copyright (c) mmfsar contributors. All rights reserved.
"""Confusion matrix, per-class accuracy and most confused class pairs from
a test dump (``tools/test.py --dump``).

    python tools/test.py CONFIG CKPT --dump work_dirs/x/episodes.jsonl
    python tools/analysis_tools/fewshot_confusion.py \\
        work_dirs/x/episodes.jsonl --out-dir work_dirs/x/analysis

Writes to ``--out-dir``:

- ``confusion_matrix.csv``: query counts, true class (rows) by predicted
  class (columns), over the split's classes;
- ``confusion_matrix.png``: the same as the share of each true class's
  queries;
- ``per_class_accuracy.csv``: queries, correct, accuracy and its 95%
  Wilson interval per class;
- ``confused_pairs.csv``: class pairs by how often a query of one was
  taken for the other in the episodes where both appeared.

With ``--text`` it analyses the text-only baseline's predictions
(``--text-baseline`` runs) and prefixes the files with ``text_``.
"""
import argparse
import csv
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

Z95 = 1.959963984540054


def load_dump(path: str) -> List[dict]:
    """Episode records of a .jsonl, .json or .pkl dump."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Dump not found: {path}')
    if path.endswith('.jsonl'):
        records = []
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(
                        f'{path}, line {number}: not JSON ({err}).') from err
        return records
    import mmengine  # .json and .pkl (a file the user named)
    return mmengine.load(path)


def class_names(records: Sequence[dict],
                classes_file: Optional[str] = None) -> List[str]:
    """Name of each class id: the lines of ``classes_file``, or the names
    the dump carries (``class <id>`` where it has none)."""
    if classes_file:
        with open(classes_file) as f:
            return [line.strip() for line in f if line.strip()]
    names: Dict[int, str] = {}
    for record in records:
        for cid, name in zip(record['class_ids'],
                             record.get('class_names') or []):
            names.setdefault(int(cid), name)
    largest = max(int(c) for r in records for c in r['class_ids'])
    return [names.get(c, f'class {c}') for c in range(largest + 1)]


def wilson(correct: int, total: int) -> Tuple[float, float]:
    """95% Wilson score interval of a proportion, in %."""
    if total == 0:
        return math.nan, math.nan
    p, z2 = correct / total, Z95**2
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = Z95 * math.sqrt(p * (1 - p) / total + z2 /
                           (4 * total**2)) / (1 + z2 / total)
    return 100 * (centre - half), 100 * (centre + half)


def confusion(records: Sequence[dict],
              num_classes: int,
              text: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Counts (C, C) of queries by true and predicted class, and the number
    of queries of each class in episodes that offered each class (C, C)."""
    key = 'text_preds' if text else 'preds'
    counts = np.zeros((num_classes, num_classes), np.int64)
    offered = np.zeros((num_classes, num_classes), np.int64)
    for record in records:
        if key not in record:
            raise KeyError(
                f'Episode {record.get("episode_idx")} has no {key!r}' +
                ('; run tools/test.py with --text-baseline.' if text else '.'))
        class_ids = np.asarray(record['class_ids'])
        truth = class_ids[np.asarray(record['labels'])]
        preds = class_ids[np.asarray(record[key])]
        np.add.at(counts, (truth, preds), 1)
        for t in truth:
            offered[t, class_ids] += 1
    return counts, offered


def confused_pairs(counts: np.ndarray,
                   offered: np.ndarray) -> List[Tuple[int, int, float]]:
    """Unordered pairs (a, b) by the share of the queries of either that
    were taken for the other, in the episodes where both appeared."""
    pairs = []
    for a in range(len(counts)):
        for b in range(a + 1, len(counts)):
            together = offered[a, b] + offered[b, a]
            if together:
                pairs.append(
                    (a, b, (counts[a, b] + counts[b, a]) / together * 100))
    return sorted(pairs, key=lambda p: -p[2])


def plot_confusion(rates: np.ndarray, names: Sequence[str], title: str,
                   out_file: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    size = max(5.0, 0.45 * len(names) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(rates, cmap='Blues', vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='% of queries')
    ticks = range(len(names))
    ax.set_xticks(list(ticks))
    ax.set_yticks(list(ticks))
    ax.set_xticklabels(names, rotation=45, ha='right', fontsize=8)
    ax.set_yticklabels(names, fontsize=8)
    if len(names) <= 20:
        for i in ticks:
            for j in ticks:
                if rates[i, j] >= 0.5:
                    ax.text(
                        j,
                        i,
                        f'{rates[i, j]:.0f}',
                        ha='center',
                        va='center',
                        fontsize=7,
                        color='white' if rates[i, j] > 50 else 'black')
    ax.set(xlabel='predicted class', ylabel='true class', title=title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def analyse(records: Sequence[dict],
            names: Sequence[str],
            out_dir: str,
            text: bool = False,
            top: int = 10) -> dict:
    """Write the four files; return per-class accuracy and the top pairs."""
    counts, offered = confusion(records, len(names), text)
    prefix = 'text_' if text else ''
    os.makedirs(out_dir, exist_ok=True)
    with open(
            osp.join(out_dir, f'{prefix}confusion_matrix.csv'), 'w',
            newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['true \\ predicted', *names])
        for name, row in zip(names, counts):
            writer.writerow([name, *row.tolist()])
    totals = counts.sum(axis=1)
    rates = 100 * counts / np.maximum(totals, 1)[:, None]
    what = 'text-only baseline' if text else 'few-shot'
    plot_confusion(
        rates, names, f'{what}: {len(records)} episodes, '
        f'{int(totals.sum())} queries',
        osp.join(out_dir, f'{prefix}confusion_matrix.png'))
    per_class = []
    with open(
            osp.join(out_dir, f'{prefix}per_class_accuracy.csv'), 'w',
            newline='') as f:
        writer = csv.writer(f)
        writer.writerow([
            'class_id', 'class', 'queries', 'correct', 'accuracy', 'ci95_low',
            'ci95_high'
        ])
        for cid, name in enumerate(names):
            total, correct = int(totals[cid]), int(counts[cid, cid])
            if not total:
                continue
            low, high = wilson(correct, total)
            acc = 100 * correct / total
            per_class.append((name, total, acc, low, high))
            writer.writerow([
                cid, name, total, correct, f'{acc:.2f}', f'{low:.2f}',
                f'{high:.2f}'
            ])
    pairs = confused_pairs(counts, offered)
    with open(
            osp.join(out_dir, f'{prefix}confused_pairs.csv'), 'w',
            newline='') as f:
        writer = csv.writer(f)
        writer.writerow([
            'class_a', 'class_b', 'a_taken_for_b', 'b_taken_for_a',
            'queries_with_both', 'confused_percent'
        ])
        for a, b, rate in pairs:
            writer.writerow([
                names[a], names[b], counts[a, b], counts[b, a],
                offered[a, b] + offered[b, a], f'{rate:.2f}'
            ])
    return dict(
        per_class=per_class,
        pairs=[(names[a], names[b], rate) for a, b, rate in pairs[:top]])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dump', help='.jsonl, .json or .pkl from --dump')
    parser.add_argument(
        '--out-dir', help='defaults to <dump without extension>_analysis')
    parser.add_argument(
        '--classes',
        help='class-name file (line i: class id i); defaults to the names '
        'in the dump')
    parser.add_argument(
        '--text',
        action='store_true',
        help='analyse the text-only baseline predictions')
    parser.add_argument(
        '--top', type=int, default=10, help='confused pairs to print')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    records = load_dump(args.dump)
    if not records:
        raise ValueError(f'{args.dump} holds no episodes.')
    names = class_names(records, args.classes)
    out_dir = args.out_dir or osp.splitext(args.dump)[0] + '_analysis'
    result = analyse(records, names, out_dir, args.text, args.top)
    width = max(len(n) for n in names)
    print(f'Per-class accuracy over {len(records)} episodes '
          '(95% Wilson interval):')
    for name, total, acc, low, high in result['per_class']:
        print(f'  {name:<{width}}  {acc:6.2f}  [{low:6.2f}, {high:6.2f}]  '
              f'({total} queries)')
    print('Most confused pairs (% of their queries taken for the other, '
          'in episodes with both):')
    for a, b, rate in result['pairs']:
        print(f'  {rate:6.2f}  {a} <-> {b}')
    print(f'Wrote {out_dir}/')


if __name__ == '__main__':
    main()
