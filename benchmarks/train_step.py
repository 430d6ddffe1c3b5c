# Copyright (c) mmfsar contributors. All rights reserved.
"""Time and peak memory of one CLIP-FSAR training step.

One step is what ``EpisodicTrainLoop`` runs per iteration: ``model.train_step``
on one collated 5-way 1-shot episode with 5 queries per class, 8 frames of
224 px (30 videos, 240 frames): the data preprocessor, the forward in
``'loss'`` mode (support and query videos in separate backbone calls, as in
the released code), backward, and the Adam step of
``configs/_base_/schedules/clip_fsar_adam.py`` (``FiniteOptimWrapper``,
with ``accumulative_counts=1`` so that every step updates the weights).

The models are built from ``configs/_base_/models/clip_fsar_r50.py`` and
``clip_fsar_vit-b16.py`` with ``pretrained=None`` (random weights) and
QuickGELU, as the OpenAI weights would be; 64 training class names are set
first. Each (backbone, gradient checkpointing off / on) configuration runs in
a fresh subprocess, so that its memory peak is its own, and one that runs out
of memory is reported as such instead of stopping the script.

Figures per configuration:

* step time: median over ``--repeats`` steps after ``--warmup`` steps;
* peak memory: on CUDA ``torch.cuda.max_memory_allocated``, on the CPU the
  process's peak RSS (``VmHWM``); both in total and above the memory in use
  right after building the model and the batch (weights, text bank, uint8
  batch), i.e. what the steps themselves add: activations, gradients and
  the Adam state;
* outside-backbone share: the time of everything after the backbone
  (prototype modulation head, OTAM, few-shot and video-text losses) forward
  and backward, measured by running ``mode='loss'`` with the backbone
  replaced by precomputed frame features that require grad, divided by the
  full step time. The optimizer step is in neither part of that ratio's
  numerator.

Targets printed next to the figures: outside-backbone share of a ViT-B/16
step <= 5%, and gradient checkpointing cutting peak memory by >= 40%.

Run from the repository root::

    python benchmarks/train_step.py                      # the real setting
    python benchmarks/train_step.py --backbones rn50 --repeats 1
    python benchmarks/train_step.py --size 64 --queries 1   # small, on a CPU
    python benchmarks/train_step.py --device cuda --repeats 10

At another ``--size`` than 224 the CLIP image tower is built for that input
size (open_clip config with ``vision_cfg.image_size`` changed), so the
positional embeddings fit.
"""
import argparse
import copy
import os.path as osp
import sys
import traceback

import torch
from _common import (GIB, REPO_ROOT, PeakMemory, available_memory,
                     format_seconds, format_table, is_out_of_memory, median,
                     print_machine, resolve_device, run_worker, synchronize,
                     time_calls, verdict, write_result)

MODEL_CONFIGS = {
    'rn50': ('RN50', 'configs/_base_/models/clip_fsar_r50.py'),
    'vit-b16': ('ViT-B/16', 'configs/_base_/models/clip_fsar_vit-b16.py'),
}
SCHEDULE = 'configs/_base_/schedules/clip_fsar_adam.py'
NUM_TRAIN_CLASSES = 64
SHARE_TARGET = 0.05
SAVING_TARGET = 0.40


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Time and peak memory of one CLIP-FSAR training step.')
    parser.add_argument(
        '--backbones',
        nargs='+',
        choices=sorted(MODEL_CONFIGS),
        default=['rn50', 'vit-b16'])
    parser.add_argument(
        '--checkpointing',
        nargs='+',
        choices=['off', 'on'],
        default=['off', 'on'],
        help='gradient checkpointing settings to measure')
    parser.add_argument('--ways', type=int, default=5)
    parser.add_argument('--shots', type=int, default=1)
    parser.add_argument(
        '--queries', type=int, default=5, help='queries per class')
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, default=224, help='input px')
    parser.add_argument(
        '--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--repeats', type=int, default=3, help='timed steps')
    parser.add_argument(
        '--head-repeats',
        type=int,
        default=10,
        help='timed head-only forward+backward passes')
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument(
        '--mem-limit-gb',
        type=float,
        default=None,
        help='stop a configuration whose RSS exceeds this many GiB; '
        'default 90%% of the memory available at start (CPU only)')
    parser.add_argument(
        '--timeout',
        type=float,
        default=None,
        help='seconds per configuration (default: none)')
    parser.add_argument(
        '--device',
        default='auto',
        help='cpu, cuda, cuda:N; auto (default) picks CUDA when available')
    # Internal: run one configuration and write its figures as JSON.
    parser.add_argument(
        '--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--backbone', help=argparse.SUPPRESS)
    parser.add_argument('--with-cp', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--result-file', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ------------------------------------------------------------------ worker
def build_model(backbone: str, with_cp: bool, size: int):
    """The recognizer of a model config, random weights, 64 class names."""
    import open_clip
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO_ROOT, MODEL_CONFIGS[backbone][1]))
    model_cfg = copy.deepcopy(cfg.model)
    for key in ('backbone', 'text_encoder'):
        model_cfg[key]['pretrained'] = None
        model_cfg[key]['quick_gelu'] = True
    model_cfg.backbone.with_cp = with_cp
    if size != 224:
        clip = open_clip.get_model_config(model_cfg.backbone.model_name)
        clip['vision_cfg']['image_size'] = size
        model_cfg.backbone.model_cfg = clip
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.set_class_names(
        [f'training class {i}' for i in range(NUM_TRAIN_CLASSES)], 'train')
    return model


def build_optim_wrapper(model):
    """The schedule config's optimizer, stepping every iteration."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper as build
    cfg = Config.fromfile(osp.join(REPO_ROOT, SCHEDULE)).optim_wrapper
    cfg.accumulative_counts = 1
    return build(model, cfg)


def run_configuration(args, device: torch.device) -> dict:
    """Measure one (backbone, checkpointing) configuration in-process."""
    from mmfsar.testing import fake_episode_batch
    if args.threads:
        torch.set_num_threads(args.threads)
    memory = PeakMemory(device)
    model = build_model(args.backbone, bool(args.with_cp), args.size)
    model.to(device).train()
    optim_wrapper = build_optim_wrapper(model)
    batch = fake_episode_batch(
        num_ways=args.ways,
        num_shots=args.shots,
        num_queries=args.queries,
        num_frames=args.frames,
        size=args.size,
        num_classes=NUM_TRAIN_CLASSES)
    result = dict(
        params=sum(p.numel() for p in model.parameters()),
        memory_what=memory.what)
    synchronize(device)
    baseline = memory.current()
    result['baseline'] = baseline
    memory.reset()
    try:
        step_times = time_calls(lambda: model.train_step(batch, optim_wrapper),
                                device, args.repeats, args.warmup)
    except Exception as err:  # noqa: B902
        if not is_out_of_memory(err):
            raise
        result.update(
            out_of_memory=True,
            memory_at_failure=memory.peak(),
            error=f'{type(err).__name__}: {str(err)[:300]}')
        return result
    result.update(
        step_times=step_times, peak=memory.peak(), memory_what=memory.what)
    optim_wrapper.zero_grad()

    # Everything after the backbone, on frame features that require grad.
    data = model.data_preprocessor(batch, True)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
    del data['inputs']
    feats.requires_grad_(True)
    model._episode_features = lambda inputs, episodes: feats

    def head_step():
        losses = model(None, data['data_samples'], mode='loss')
        loss, _ = model.parse_losses(losses)
        loss.backward()
        model.zero_grad(set_to_none=True)
        feats.grad = None

    result['head_times'] = time_calls(head_step, device, args.head_repeats, 2)
    return result


def worker_main(args) -> None:
    device = resolve_device(args.device)
    try:
        result = run_configuration(args, device)
    except Exception as err:  # noqa: B902
        if not is_out_of_memory(err):
            traceback.print_exc()
            sys.exit(1)
        result = dict(
            out_of_memory=True,
            memory_at_failure=PeakMemory(device).peak(),
            error=f'{type(err).__name__}: {str(err)[:300]}')
    write_result(args.result_file, result)


# ------------------------------------------------------------------ parent
def worker_args(args, backbone: str, with_cp: bool) -> list:
    out = [
        osp.abspath(__file__), '--worker', '--backbone', backbone, '--with-cp',
        str(int(with_cp)), '--device', args.device
    ]
    for key in ('ways', 'shots', 'queries', 'frames', 'size', 'warmup',
                'repeats', 'head_repeats', 'threads'):
        value = getattr(args, key)
        if value is not None:
            out += ['--' + key.replace('_', '-'), str(value)]
    return out


def gib(num_bytes) -> str:
    return f'{num_bytes / GIB:.2f}'


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return
    device = resolve_device(args.device)
    args.device = str(device)
    mem_limit = None
    if device.type == 'cpu':
        if args.mem_limit_gb:
            mem_limit = int(args.mem_limit_gb * GIB)
        elif available_memory():
            mem_limit = int(0.9 * available_memory())
    print(__doc__.strip().splitlines()[0])
    print()
    print_machine(device)
    videos = args.ways * (args.shots + args.queries)
    print(f'Setting: {args.ways}-way {args.shots}-shot, {args.queries} '
          f'queries per class, {args.frames} frames of {args.size} px: '
          f'{videos} videos = {videos * args.frames} frames per step; '
          f'{args.warmup} warm-up + {args.repeats} timed steps (median); '
          f'head-only: 2 warm-up + {args.head_repeats} timed; '
          f'{args.threads or torch.get_num_threads()} torch threads.')
    print('Each configuration runs in a fresh subprocess' +
          (f', stopped above {mem_limit / GIB:.1f} GiB RSS.'
           if mem_limit else '.'))
    print()

    rows, outcomes = [], {}
    for backbone in args.backbones:
        for cp in args.checkpointing:
            name = MODEL_CONFIGS[backbone][0]
            print(f'... {name}, checkpointing {cp}', flush=True)
            outcome = run_worker(
                worker_args(args, backbone, cp == 'on'), mem_limit,
                args.timeout)
            outcomes[backbone, cp] = outcome
            res = outcome.result
            if res is None or res.get('out_of_memory'):
                if not outcome.out_of_memory:
                    print(outcome.log)
                rows.append([name, cp] + ['-'] * 6 +
                            [outcome.describe_failure()])
                continue
            step = median(res['step_times'])
            head = median(res['head_times'])
            rows.append([
                name, cp, f'{res["params"] / 1e6:.2f} M',
                format_seconds(step),
                gib(res['peak']),
                gib(res['peak'] - res['baseline']),
                format_seconds(head), f'{100 * head / step:.2f}',
                'step times ' + ', '.join(f'{t:.2f}'
                                          for t in res['step_times']) + ' s'
            ])
    memory_what = next(
        (o.result['memory_what']
         for o in outcomes.values() if o.result and 'memory_what' in o.result),
        '')
    print()
    print(
        format_table([
            'backbone', 'grad ckpt', 'params', 'step (median)', 'peak GiB',
            'above baseline GiB', 'head+OTAM+loss', 'outside backbone %',
            'note'
        ], rows, 2))
    print()
    print(f'Peak memory: {memory_what}; "above baseline" subtracts the '
          'memory in use right after building the model and the batch.')
    print('Outside backbone: head + OTAM + losses forward and backward on '
          'precomputed frame features, divided by the step time.')
    print()
    summarise(args, outcomes)


def summarise(args, outcomes) -> None:
    """Checkpointing savings and the outside-backbone share vs targets."""
    lines = []
    for backbone in args.backbones:
        name = MODEL_CONFIGS[backbone][0]
        off, on = outcomes.get((backbone, 'off')), outcomes.get(
            (backbone, 'on'))
        if off is None or on is None:
            continue
        on_res = on.result if on.result and 'peak' in on.result else None
        off_res = off.result if off.result and 'peak' in off.result else None
        if on_res and off_res:
            total = 1 - on_res['peak'] / off_res['peak']
            step = 1 - (on_res['peak'] - on_res['baseline']) / (
                off_res['peak'] - off_res['baseline'])
            lines.append(
                f'{name}: checkpointing cuts peak memory by '
                f'{100 * total:.1f}% (step memory above baseline: '
                f'{100 * step:.1f}%); target >= {100 * SAVING_TARGET:.0f}%: '
                f'{verdict(total >= SAVING_TARGET)}')
        elif on_res and off.out_of_memory:
            limit = (off.result or {}).get('memory_at_failure') or \
                off.peak_rss
            bound = 1 - on_res['peak'] / limit if limit else None
            lines.append(
                f'{name}: without checkpointing {off.describe_failure()}; '
                f'with it the peak is {gib(on_res["peak"])} GiB, a saving '
                f'of at least {100 * bound:.1f}%; target >= '
                f'{100 * SAVING_TARGET:.0f}%: '
                f'{verdict(bound >= SAVING_TARGET if bound else None)}')
    for cp in args.checkpointing:
        outcome = outcomes.get(('vit-b16', cp))
        if outcome is None or not outcome.result or \
                'head_times' not in outcome.result:
            continue
        res = outcome.result
        share = median(res['head_times']) / median(res['step_times'])
        lines.append(
            f'ViT-B/16 (checkpointing {cp}): {100 * share:.2f}% of the step '
            f'is outside the backbone; target <= {100 * SHARE_TARGET:.0f}%: '
            f'{verdict(share <= SHARE_TARGET)}')
    if lines:
        print('Targets')
        for line in lines:
            print('  ' + line)
    setting = (args.ways, args.shots, args.queries, args.frames, args.size)
    if setting != (5, 1, 5, 8, 224):
        print(f'  (measured at {args.ways}-way {args.shots}-shot, '
              f'{args.queries} queries, {args.frames} frames, {args.size} '
              'px, not the 5-way 1-shot 5-query 8x224 training setting)')


if __name__ == '__main__':
    main()
