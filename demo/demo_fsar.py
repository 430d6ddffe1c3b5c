# Copyright (c) mmfsar contributors. All rights reserved.
"""Classify query clips against a few labelled clips of each class.

SUPPORT_DIR holds one sub-folder per class, named after the class
(underscores read as spaces), with that class's support clips::

    python demo/demo_fsar.py CONFIG CHECKPOINT SUPPORT_DIR q1.mp4 q2.mp4 \\
        --out-dir work_dirs/fsar_demo

prints one line per query (the file, the predicted class and its score,
then the other classes' scores) and, with ``--out-dir``, writes a PNG per
query: its frames beside the frames behind the best match, the frame
similarity matrix and the OTAM alignment path through it.
"""
import argparse
import contextlib
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction  # noqa: E402

import mmfsar  # noqa: E402,F401  (workarounds + registration first)
from mmfsar.apis import FewShotPrediction  # noqa: E402
from mmfsar.apis import inference_fsar  # noqa: E402
from mmfsar.apis import init_fsar_model, support_from_folder  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'support_dir',
        help='folder with one sub-folder of support clips per class')
    parser.add_argument('queries', nargs='+', help='query video files')
    parser.add_argument(
        '--out-dir', help='write one PNG per query (frames and alignment)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--text-only',
        action='store_true',
        help='classify by the class names alone (CLIP zero-shot), without '
        'the support clips')
    parser.add_argument(
        '--batch-size', type=int, default=8, help='videos per backbone call')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value')
    return parser.parse_args(argv)


def format_line(result: FewShotPrediction) -> str:
    """``query: predicted score | other score, other score, ...``."""
    order = result.scores.argsort()[::-1]
    others = ', '.join(f'{result.class_names[i]} {result.scores[i]:.3f}'
                       for i in order if i != result.pred_label)
    return (f'{result.query}: {result.pred_class} '
            f'{result.scores[result.pred_label]:.3f} | {others}')


def plot_result(result: FewShotPrediction, path: str) -> None:
    """The query's frames over the best match's frames, and the frame
    similarity matrix with the alignment path."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    alignment = result.alignment
    num_frames = len(result.frames)
    fig = plt.figure(figsize=(1.1 * num_frames + 3.6, 3.2))
    grid = fig.add_gridspec(2, num_frames + 3)
    rows = [(result.frames, 'query')]
    if alignment is not None:
        shown = osp.basename(alignment.support)
        what = (f'prototype of\n{result.pred_class!r}\n({shown})'
                if alignment.kind == 'prototype' else
                f'nearest clip of\n{result.pred_class!r}\n({shown})')
        rows.append((alignment.support_frames, what))
    for row, (frames, label) in enumerate(rows):
        for t, frame in enumerate(frames):
            ax = fig.add_subplot(grid[row, t])
            ax.imshow(frame, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(str(t), fontsize=8)
            if t == 0:
                ax.set_ylabel(label, fontsize=7)
    ax = fig.add_subplot(grid[:, num_frames:])
    if alignment is None:
        reason = ('text-only baseline'
                  if result.text_only else 'this head has no frame alignment')
        ax.text(0.5, 0.5, f'no alignment:\n{reason}', ha='center', va='center')
        ax.set_axis_off()
    else:
        image = ax.imshow(alignment.frame_similarity, cmap='viridis')
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ys, xs = zip(*alignment.path)
        ax.plot(
            xs,
            ys,
            'o-',
            color='red',
            markersize=3,
            linewidth=1.2,
            label='OTAM path')
        ax.set(
            xlabel='support frame',
            ylabel='query frame',
            title='frame similarity')
        ax.legend(loc='lower left', fontsize=7)
    score = result.scores[result.pred_label]
    fig.suptitle(
        f'{result.query}: {result.pred_class} ({score:.2f})', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    support = support_from_folder(args.support_dir)
    # Only the results go to stdout; loading and decoding logs to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        model = init_fsar_model(
            args.config,
            args.checkpoint,
            device=args.device,
            cfg_options=args.cfg_options)
        results = inference_fsar(
            model,
            support,
            args.queries,
            text_only=args.text_only,
            batch_size=args.batch_size,
            return_frames=args.out_dir is not None)
    for result in results:
        print(format_line(result), flush=True)
    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
        for i, result in enumerate(results):
            plot_result(result, osp.join(args.out_dir, png_name(i, result)))
        print(f'Wrote {len(results)} PNGs to {args.out_dir}', file=sys.stderr)


def png_name(index: int, result: FewShotPrediction) -> str:
    """``<index>_<folder>_<file>.png`` for query ``.../<folder>/<file>``."""
    folder, name = osp.split(osp.splitext(osp.abspath(result.query))[0])
    return f'{index:03d}_{osp.basename(folder)}_{name}.png'


if __name__ == '__main__':
    main()
