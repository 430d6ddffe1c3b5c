# Copyright (c) mmfsar contributors. All rights reserved.
"""Batched OTAM against the released code's cell-by-cell loop.

Times ``mmfsar.models.utils.otam.otam_distance`` (bidirectional, lbda 0.5)
and ``otam_distance_reference``, which fills the cumulative matrix one cell
at a time in Python like the released ``OTAM_cum_dist_v2``, on the same
random frame distances ``1 - cos`` in [0, 2]:

* training shape: 25 queries x 5 prototypes x 8 x 8 (one 5-way 1-shot
  episode with 5 queries per class);
* test shape: 5 x 5 x 8 x 8 (one episode with 1 query per class);
* a large batch: 64 test-shape episodes, 64 x 5 x 5 x 8 x 8 (what the
  cached test loop feeds the head per chunk, scaled down).

Forward only (under ``no_grad``) and forward + backward (the sum of the
distances back to the frame distances). Prints median times, the speed
ratio reference / batched, and the largest absolute difference of the
distances (and of the gradients). Target: batched >= 5x faster.

Run from the repository root::

    python benchmarks/otam.py
    python benchmarks/otam.py --threads 1     # on a busy CPU machine
    python benchmarks/otam.py --device cuda --repeats 200
    python benchmarks/otam.py --episodes 256 --dtype float64
"""
import argparse

import torch
from _common import (format_seconds, format_table, median, print_machine,
                     resolve_device, time_calls, verdict)

from mmfsar.models.utils.otam import otam_distance, otam_distance_reference

SPEED_TARGET = 5.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Batched OTAM against the cell-by-cell reference.')
    parser.add_argument(
        '--frames', type=int, default=8, help='T (query and support)')
    parser.add_argument(
        '--episodes',
        type=int,
        default=64,
        help='test-shape episodes in the large batch')
    parser.add_argument('--repeats', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--lbda', type=float, default=0.5)
    parser.add_argument(
        '--dtype', choices=['float32', 'float64'], default='float32')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument(
        '--device',
        default='auto',
        help='cpu, cuda, cuda:N; auto (default) picks CUDA when available')
    return parser.parse_args(argv)


def shapes(args) -> list:
    t = args.frames
    return [
        ('train: 25 q x 5 protos', (25, 5, t, t)),
        ('test: 5 q x 5 protos', (5, 5, t, t)),
        (f'{args.episodes} test episodes', (args.episodes, 5, 5, t, t)),
    ]


def make_call(fn, dists, backward, lbda):
    """A call of ``fn`` returning the distances (forward) or the gradient
    of their sum with respect to ``dists`` (forward + backward)."""

    def forward():
        with torch.no_grad():
            return fn(dists, lbda)

    def forward_backward():
        x = dists.detach().requires_grad_(True)
        fn(x, lbda).sum().backward()
        return x.grad

    return forward_backward if backward else forward


def time_interleaved(calls, device, repeats, warmup):
    """Median seconds of each call, timed in turn within every repeat so
    that all of them see the same load on a shared machine."""
    for call in calls:
        time_calls(call, device, 0, warmup)
    times = [[] for _ in calls]
    for _ in range(repeats):
        for call, out in zip(calls, times):
            out.extend(time_calls(call, device, 1, 0))
    return [median(t) for t in times]


def main(argv=None) -> None:
    args = parse_args(argv)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    print(__doc__.strip().splitlines()[0])
    print()
    print_machine(device)
    print(f'{args.dtype}, lbda {args.lbda}, bidirectional; median of '
          f'{args.repeats} calls (the two functions in turn) after '
          f'{args.warmup} warm-up calls.')
    print()
    generator = torch.Generator().manual_seed(args.seed)
    rows, ratios = [], []
    for name, shape in shapes(args):
        dists = 2 * torch.rand(shape, generator=generator, dtype=dtype)
        dists = dists.to(device)
        for backward in (False, True):
            calls = [
                make_call(fn, dists, backward, args.lbda)
                for fn in (otam_distance, otam_distance_reference)
            ]
            fast, ref = time_interleaved(calls, device, args.repeats,
                                         args.warmup)
            fast_out, ref_out = calls[0](), calls[1]()
            ratio = ref / fast
            ratios.append(ratio)
            diff = (fast_out - ref_out).abs().max().item()
            rows.append([
                name, 'fwd+bwd' if backward else 'fwd',
                format_seconds(ref),
                format_seconds(fast), f'{ratio:.1f}x',
                f'{diff:.1e}' + (' (grad)' if backward else '')
            ])
    print(
        format_table([
            'shape', 'pass', 'reference loop', 'batched', 'speed-up',
            'max abs diff'
        ], rows, 2))
    print()
    print(f'Target: batched OTAM >= {SPEED_TARGET:.0f}x faster than the '
          f'loop; lowest speed-up {min(ratios):.1f}x: '
          f'{verdict(min(ratios) >= SPEED_TARGET)}')


if __name__ == '__main__':
    main()
