# Copyright (c) mmfsar contributors. All rights reserved.
"""GPU benchmark suite: training step, data feed and the cached test.

One command, no arguments, no downloads: random weights (open_clip model
configs with ``pretrained=None``) and videos generated on the spot into a
temporary folder; nothing under ``data/`` is read. On one GPU it is planned
to finish within 8 minutes including start-up (``--budget``); it writes
``gpu_suite.md`` (Markdown tables) and ``gpu_suite.json`` (every row with
its raw figures) to ``--out-dir``, with the subprocess logs in ``logs/``.

Sections:

* **train**: one training step (``model.train_step`` on one collated
  episode, backward and the optimizer step) of 5-way 1-shot episodes with 5
  queries per class (the released training episode, 30 videos) and of
  5-way 5-shot episodes with 5 queries per class (50 videos), 8 frames of
  224 px, for each entry of :data:`TRAIN_MODELS` and each precision of
  :data:`PRECISIONS`. Each precision is the config a user gets from
  ``tools/train.py CONFIG`` with the flags shown (parsed and merged by
  ``tools/train.py`` itself), with ``accumulative_counts=1`` so that every
  step runs the optimizer. Figures: median step time after warm-up steps,
  peak GPU memory (``torch.cuda.max_memory_allocated``, and the allocator's
  ``max_memory_reserved``, closer to what ``nvidia-smi`` shows; neither
  counts the CUDA context). One subprocess per (model, episode); a row that
  fails or runs out of memory is recorded with its error and the suite goes
  on. Entries whose modules are not registered in this version are listed
  as pending.
* **feed**: decoding + training-pipeline throughput (videos per second)
  with 4, 8 and 16 dataloader workers on generated 10 s videos at real
  resolutions: 340x256 H.264 mp4 (like Kinetics) and 320x240 MPEG-4 Part 2
  avi (like HMDB51 and UCF101), against the videos per second the fastest
  measured training step consumes.
* **test**: the cached test at benchmark size, end to end through
  ``tools/test.py`` as a user runs it: an HMDB51-sized generated test split
  (10 classes, 1,292 videos of 3 s, 320x240 MPEG-4) and 10,000 5-way 1-shot
  episodes with ViT-B/16 (``configs/clip_fsar_hmdb51_1shot.py``, random
  weights saved as a checkpoint). Figures: the wall time of the command,
  encoding throughput (frames per second, from the loop's log), and the
  share of the physical limit: decoding each distinct video once with the
  config's dataloader workers, and encoding it once, measured separately;
  the limit is the larger of the two (they overlap in the loop), and the
  share is limit / wall time.

Targets (on an H200-class GPU) are checked at the end; a missed one is
reported with the margin. ``--quick`` runs the same code paths on the CPU
at toy sizes (tiny open_clip configs, 32 px, a few short videos, 0/1/2
workers, 100 episodes) within 2 minutes; there AMP fp16 is not available
(mmengine's CPU autocast is bf16 only) and AMP bf16 runs under CPU
autocast without a loss scaler, since ``AmpOptimWrapper`` needs a GPU.

Run from the repository root::

    python benchmarks/gpu_suite.py --out-dir benchmarks/results/gpu
    python benchmarks/gpu_suite.py --quick        # CPU, toy sizes
    python benchmarks/gpu_suite.py --sections train --budget 300
"""
import argparse
import copy
import importlib.util
import json
import math
import multiprocessing
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import nullcontext
from functools import partial
from typing import Dict, List, Optional

import torch
from _common import (GIB, REPO_ROOT, PeakMemory, is_out_of_memory,
                     machine_info, markdown_table, median, run_worker,
                     synchronize, time_calls, write_result)

# ------------------------------------------------------------------ plan
PRECISIONS = {
    'fp32': [],
    'AMP fp16': ['--amp'],
    'AMP bf16': ['--amp', '--cfg-options', 'optim_wrapper.dtype=bfloat16'],
    'AMP bf16 + grad ckpt': [
        '--amp', '--cfg-options', 'optim_wrapper.dtype=bfloat16',
        'model.backbone.with_cp=True'
    ],
}
"""Precision name -> ``tools/train.py`` flags that select it."""

EPISODES = {
    '1-shot': dict(ways=5, shots=1, queries=5),
    '5-shot': dict(ways=5, shots=5, queries=5),
}
"""Training episodes: N ways, K shots, Q queries per class."""

_CLIP_RANDOM = {
    'model.backbone.pretrained': None,
    'model.text_encoder.pretrained': None,
    # As the OpenAI weights would be.
    'model.backbone.quick_gelu': True,
    'model.text_encoder.quick_gelu': True,
}


def _tiny_clip(clip: dict) -> dict:
    """Overrides that swap a CLIP-FSAR model for a tiny one (``--quick``)."""
    return {
        'model.backbone.model_cfg': clip,
        'model.text_encoder.model_cfg': clip,
        'model.head.in_channels': clip['embed_dim'],
        'model.head.ffn_channels': 64,
    }


def _baseline_configs(method: str) -> Dict[str, str]:
    """The HMDB51 benchmark configs of an ImageNet ResNet-50 baseline."""
    return {f'{k}-shot': f'configs/{method}_hmdb51_{k}shot.py' for k in (1, 5)}


def train_models() -> Dict[str, dict]:
    """The models of the training-step section, one entry each.

    An entry: ``configs`` (episode -> config file, for the optimizer,
    schedule and runtime; relative to the repository root), ``model``
    (optional: a model config that replaces the config's), ``overrides``
    (dotted keys set on every run, e.g. random weights) and ``quick``
    (dotted keys set with ``--quick``: toy sizes). An entry whose
    ``model`` names a type missing from ``mmaction.registry.MODELS`` (or a
    missing config) is listed as pending instead of run.
    """
    from mmfsar.testing import TINY_CLIP, TINY_RN
    clip_vit = {
        '1-shot': 'configs/clip_fsar_hmdb51_1shot.py',
        '5-shot': 'configs/clip_fsar_hmdb51_5shot.py'
    }
    clip_rn50 = {k: v[:-3] + '_rn50.py' for k, v in clip_vit.items()}
    return {
        'CLIP RN50':
        dict(
            configs=clip_rn50,
            overrides=_CLIP_RANDOM,
            quick=_tiny_clip(TINY_RN)),
        'CLIP ViT-B/16':
        dict(
            configs=clip_vit,
            overrides=_CLIP_RANDOM,
            quick=_tiny_clip(TINY_CLIP)),
        # The released baselines' backbone (random weights here), with
        # their benchmark configs' optimizer and runtime.
        'ImageNet ResNet-50 + OTAM':
        dict(
            configs=_baseline_configs('otam'),
            overrides={'model.backbone.pretrained': None},
            quick={'model.backbone.depth': 18}),
        'ImageNet ResNet-50 + TRX':
        dict(
            configs=_baseline_configs('trx'),
            overrides={'model.backbone.pretrained': None},
            quick={
                'model.backbone.depth': 18,
                'model.head.in_channels': 512
            }),
    }


TEST_CONFIG = 'configs/clip_fsar_hmdb51_1shot.py'
TEST_ROWS = ('test/tools/test.py', 'test/physical limit')
FEED_KINDS = ('Kinetics-like', 'HMDB51-like')
TEST_MODEL = 'CLIP ViT-B/16'
NUM_TRAIN_CLASSES = 64

SIZES = dict(
    full=dict(
        budget=450,
        size=224,
        frames=8,
        warmup=2,
        repeats=5,
        feed_workers=[4, 8, 16],
        feed_videos_per_worker=48,
        feed_videos=[(340, 256, 300, 'h264'), (320, 240, 300, 'mpeg4')],
        feed_distinct=16,
        test_classes=10,
        test_videos=1292,
        test_frames=90,
        test_resolution=(320, 240),
        test_episodes=10000,
        test_workers=None,
        reserve=dict(feed=50, test=200)),
    quick=dict(
        budget=110,
        size=32,
        frames=8,
        warmup=1,
        repeats=2,
        feed_workers=[0, 1, 2],
        feed_videos_per_worker=6,
        feed_videos=[(170, 128, 60, 'h264'), (160, 120, 60, 'mpeg4')],
        feed_distinct=4,
        test_classes=6,
        test_videos=24,
        test_frames=30,
        test_resolution=(160, 120),
        test_episodes=100,
        test_workers=1,
        reserve=dict(feed=15, test=35)),
)
"""Sizes of the full (GPU) run and of ``--quick`` (CPU, toy sizes)."""

# Targets on an H200-class GPU.
BF16_SPEEDUP = 1.8
CKPT_MEMORY_SAVING = 0.40
CKPT_TIME_COST = 0.35
CARD_GIB = 24
TEST_SECONDS = 120

STATUS_OK = 'ok'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='GPU benchmark suite (training step, data feed, '
        'cached test).')
    parser.add_argument(
        '--out-dir',
        help='where gpu_suite.md, gpu_suite.json and logs/ go (default: '
        'benchmarks/results/gpu, or benchmarks/results/gpu_quick with '
        '--quick)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='toy sizes on the CPU (same code paths), within 2 minutes')
    parser.add_argument(
        '--device',
        default='auto',
        help='cuda, cuda:N or cpu; auto (default): CUDA when available, '
        'the CPU with --quick')
    parser.add_argument(
        '--sections',
        nargs='+',
        choices=['train', 'feed', 'test'],
        default=['train', 'feed', 'test'])
    parser.add_argument(
        '--budget',
        type=float,
        help='seconds for the whole suite (default 450, 110 with --quick); '
        'rows that do not fit are recorded as skipped')
    parser.add_argument(
        '--work-dir',
        help='keep the generated videos, configs and checkpoint here '
        '(default: a temporary folder, removed)')
    # Internal: one subprocess measurement, written as JSON.
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--spec', help=argparse.SUPPRESS)
    parser.add_argument('--result-file', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- helpers
def error_text(err: BaseException) -> str:
    """``Type: message``, shortened to one line."""
    text = ' '.join(str(err).split())
    return f'{type(err).__name__}: {text[:300]}'


def failure_status(err: BaseException) -> str:
    return 'out of memory' if is_out_of_memory(err) else 'failed'


def nested(dotted: dict) -> dict:
    """``{'a.b': 1}`` -> ``{'a': {'b': 1}}``."""
    out = {}
    for key, value in dotted.items():
        node = out
        *parents, last = key.split('.')
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def model_types(cfg) -> List[str]:
    """Every ``type`` in a (nested) model config."""
    found = []
    if isinstance(cfg, dict):
        if isinstance(cfg.get('type'), str):
            found.append(cfg['type'])
        for value in cfg.values():
            found += model_types(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            found += model_types(value)
    return found


def pending_reason(entry: dict) -> Optional[str]:
    """Why an entry of :func:`train_models` cannot run in this version."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    missing = [
        c for c in entry['configs'].values()
        if not osp.exists(osp.join(REPO_ROOT, c))
    ]
    if missing:
        return f'pending: {", ".join(missing)} not in this version'
    types = model_types(entry.get('model'))
    absent = sorted({t for t in types if MODELS.get(t) is None})
    if absent:
        return ('pending: method heads not in this version '
                f'({", ".join(absent)} not registered)')
    return None


def load_train_tool():
    """``tools/train.py`` as a module (its ``parse_args``/``merge_args``)."""
    spec = importlib.util.spec_from_file_location(
        'mmfsar_train_tool', osp.join(REPO_ROOT, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_config(config: str, flags: List[str], model: Optional[dict],
                overrides: dict):
    """The config ``tools/train.py config FLAGS`` runs with.

    ``model`` replaces the config's model and ``overrides`` (dotted keys)
    are set first; the flags are parsed and merged by ``tools/train.py``.
    """
    from mmengine.config import Config, ConfigDict
    tool = load_train_tool()
    argv = sys.argv
    try:
        sys.argv = ['tools/train.py', osp.join(REPO_ROOT, config)] + flags
        args = tool.parse_args()
    finally:
        sys.argv = argv
    cfg = Config.fromfile(args.config)
    if model is not None:
        cfg.model = ConfigDict(copy.deepcopy(model))
    cfg.merge_from_dict(copy.deepcopy(overrides))
    return tool.merge_args(cfg, args)


def resolve_device(name: str, quick: bool) -> torch.device:
    if name == 'auto':
        name = 'cpu' if quick or not torch.cuda.is_available() else 'cuda'
    device = torch.device(name)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device {name}: CUDA is not available here.')
    return device


class Budget:
    """Seconds left of the suite's time budget."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


# --------------------------------------------------------------- videos
def _textured_frames(width: int, height: int, num_frames: int, seed: int):
    """Frames (H, W, 3) uint8 of a panned, blurred-noise texture with a
    moving square and fine noise: about as costly to encode and decode as
    real footage, unlike flat synthetic clips."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    pad = 64
    coarse = rng.integers(
        0,
        256, ((height + pad) // 8 + 1, (width + pad) // 8 + 1, 3),
        dtype=np.uint8)
    texture = cv2.resize(
        coarse, (coarse.shape[1] * 8, coarse.shape[0] * 8),
        interpolation=cv2.INTER_LINEAR)
    grain = rng.integers(0, 24, (height, width, 3), dtype=np.uint8)
    color = rng.integers(100, 256, 3).astype(np.uint8)
    side = max(height // 6, 4)
    velocity = rng.uniform(-2, 2, 2)
    for t in range(num_frames):
        ox = int(pad / 2 + pad / 2 * math.sin(t / 25))
        oy = int(pad / 2 + pad / 2 * math.cos(t / 31))
        frame = texture[oy:oy + height, ox:ox + width].copy()
        x = int((width / 2 + velocity[0] * t) % (width - side))
        y = int((height / 2 + velocity[1] * t) % (height - side))
        frame[y:y + side, x:x + side] = color
        yield cv2.add(frame, np.roll(grain, 3 * t, axis=1))


def h264_encoder() -> Optional[str]:
    """PyAV's H.264 encoder name here, or None."""
    import av
    for name in ('libx264', 'h264'):
        try:
            av.codec.Codec(name, 'w')
            return name
        except Exception:  # noqa: B902  (PyAV raises several types)
            continue
    return None


def write_video(job: tuple) -> str:
    """Encode one generated video with PyAV; ``job`` is ``(path, codec,
    width, height, num_frames, seed)`` with codec ``'h264'`` or
    ``'mpeg4'`` (MPEG-4 Part 2, GOP 12, 800 kbit/s). 30 fps."""
    import av
    import cv2
    cv2.setNumThreads(1)
    path, codec, width, height, num_frames, seed = job
    os.makedirs(osp.dirname(path), exist_ok=True)
    with av.open(path, 'w') as container:
        if codec == 'h264':
            stream = container.add_stream(h264_encoder(), rate=30)
            stream.options = {'preset': 'veryfast', 'crf': '23'}
        else:
            stream = container.add_stream('mpeg4', rate=30)
            stream.bit_rate = 800_000
            stream.gop_size = 12
        stream.width, stream.height, stream.pix_fmt = width, height, \
            'yuv420p'
        for frame in _textured_frames(width, height, num_frames, seed):
            image = av.VideoFrame.from_ndarray(frame, format='rgb24')
            for packet in stream.encode(image):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def generate_videos(jobs: List[tuple]) -> dict:
    """Write ``jobs`` in parallel, one process per core; seconds taken."""
    start = time.perf_counter()
    processes = max(1, min(os.cpu_count() or 1, len(jobs)))
    if processes == 1:
        for job in jobs:
            write_video(job)
    else:
        with multiprocessing.get_context('fork').Pool(processes) as pool:
            for _ in pool.imap_unordered(write_video, jobs, chunksize=4):
                pass
    return dict(
        videos=len(jobs),
        processes=processes,
        seconds=time.perf_counter() - start)


def write_split(root: str, split: str, lines: List[str],
                names: List[str]) -> tuple:
    """Annotation and class files of a generated split under ``root``."""
    ann_dir = osp.join(root, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    ann = osp.join(ann_dir, f'{split}.txt')
    classes = osp.join(ann_dir, f'{split}_classes.txt')
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(classes, 'w') as f:
        f.write('\n'.join(names) + '\n')
    return ann, classes


# ------------------------------------------------------- worker: train
def build_model(model_cfg: dict, device: torch.device):
    from mmaction.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg))
    model.to(device).train()
    if hasattr(model, 'set_class_names'):
        model.set_class_names(
            [f'training class {i}' for i in range(NUM_TRAIN_CLASSES)], 'train')
    return model


def build_optim_wrapper(model, optim_cfg: dict, device: torch.device):
    """The config's optim wrapper, stepping every iteration.

    Returns:
        tuple: The wrapper, a factory of the context to run the step in and
        a note. On the
        CPU, ``AmpOptimWrapper`` and ``FiniteAmpOptimWrapper`` (which need
        a GPU) become ``OptimWrapper`` and ``FiniteOptimWrapper`` under CPU
        autocast bf16.
    """
    from mmengine.optim import build_optim_wrapper as build
    from mmengine.runner import autocast
    cfg = copy.deepcopy(optim_cfg)
    cfg['accumulative_counts'] = 1
    context, note = nullcontext, ''
    from mmfsar.engine.optim_wrapper import AMP_WRAPPERS
    cpu_types = {amp: plain for plain, amp in AMP_WRAPPERS.items()}
    if cfg.get('type') in cpu_types and device.type == 'cpu':
        dtype = cfg.pop('dtype', None)
        if dtype != 'bfloat16':
            raise NotImplementedError(
                f'autocast {dtype or "float16"} needs a GPU; mmengine\'s '
                'CPU autocast is bf16 only')
        cfg.pop('loss_scale', None)
        cfg['type'] = cpu_types[cfg['type']]
        context = partial(autocast, device_type='cpu', dtype=torch.bfloat16)
        note = (f'CPU autocast bf16, {cfg["type"]} without loss scaling '
                '(AmpOptimWrapper needs a GPU)')
    return build(model, cfg), context, note


def release(device: torch.device) -> None:
    import gc
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def train_row(spec: dict, episode_name: str, precision: str, state: dict,
              device: torch.device) -> dict:
    """Measure one (episode, precision) of one model; reuses the model in
    ``state`` while its config is unchanged."""
    from mmfsar.testing import fake_episode_batch
    flags = PRECISIONS[precision]
    overrides = dict(spec['overrides'])
    if spec['quick']:
        overrides.update(spec['quick_overrides'])
    cfg = user_config(spec['configs'][episode_name], flags, spec.get('model'),
                      overrides)
    model_cfg = cfg.model.to_dict()
    optim_cfg = cfg.optim_wrapper.to_dict()
    row = dict(flags=' '.join(flags), figures={})
    if state.get('model_cfg') != model_cfg:
        state.pop('model', None)
        release(device)
        state['model'] = build_model(model_cfg, device)
        state['model_cfg'] = model_cfg
    model = state['model']
    episode = EPISODES[episode_name]
    try:
        optim_wrapper, context, note = build_optim_wrapper(
            model, optim_cfg, device)
    except NotImplementedError as err:
        return dict(row, status='n/a on CPU', note=str(err))
    batch = fake_episode_batch(
        num_ways=episode['ways'],
        num_shots=episode['shots'],
        num_queries=episode['queries'],
        num_frames=spec['frames'],
        size=spec['size'],
        num_classes=NUM_TRAIN_CLASSES)
    memory = PeakMemory(device)
    release(device)
    synchronize(device)
    memory.reset()

    def step():
        with context():
            model.train_step(batch, optim_wrapper)

    try:
        times = time_calls(step, device, spec['repeats'], spec['warmup'])
    except Exception as err:  # noqa: B902
        peak = memory.peak()
        optim_wrapper = None
        model.zero_grad(set_to_none=True)
        release(device)
        if not is_out_of_memory(err):
            traceback.print_exc()
        return dict(
            row,
            status=failure_status(err),
            error=error_text(err),
            figures=dict(peak_at_failure_gib=peak / GIB))
    figures = row['figures']
    figures.update(
        step_s=median(times),
        step_times_s=times,
        videos_per_step=episode['ways'] *
        (episode['shots'] + episode['queries']),
        peak_gib=memory.peak() / GIB,
        memory=memory.what)
    figures['videos_per_s'] = figures['videos_per_step'] / figures['step_s']
    if device.type == 'cuda':
        figures['peak_reserved_gib'] = torch.cuda.max_memory_reserved(
            device) / GIB
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    if scaler is not None and precision == 'AMP fp16':
        # The dynamic scale starts at 2**16 and halves at every step it
        # skips for non-finite gradients (it grows only after 2,000).
        scale = float(scaler.get_scale())
        skipped = max(0, round(math.log2(2**16 / scale)))
        figures['fp16_skipped_steps'] = skipped
        if skipped:
            note = (f'the loss scaler skipped the optimizer step in {skipped} '
                    f'of {spec["warmup"] + spec["repeats"]} steps')
    optim_wrapper = None
    model.zero_grad(set_to_none=True)
    release(device)
    return dict(row, status=STATUS_OK, note=note)


def train_worker(spec: dict, device: torch.device, result_file: str) -> None:
    """All episodes and precisions of one model; results written after
    each row, so that a crash or a kill keeps the rows before it."""
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    rows, state = {}, {}
    for episode in spec['episodes']:
        for precision in spec['precisions']:
            key = f'{episode}|{precision}'
            if time.time() > spec['deadline']:
                rows[key] = dict(
                    status='skipped', note='time budget used up', figures={})
            else:
                try:
                    rows[key] = train_row(spec, episode, precision, state,
                                          device)
                except Exception as err:  # noqa: B902
                    traceback.print_exc()
                    state.clear()
                    release(device)
                    rows[key] = dict(
                        status=failure_status(err),
                        error=error_text(err),
                        figures={})
            write_result(result_file, dict(rows=rows))


# -------------------------------------------------------- worker: feed
def feed_worker(spec: dict, device: torch.device, result_file: str) -> None:
    """Training-pipeline throughput per worker count and video kind."""
    import cv2
    from decode_throughput import build_pipelines, throughput
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    cv2.setNumThreads(0)  # as MMAction2's runtime sets it
    pipeline = build_pipelines(spec['frames'])['train']
    rows = {}
    for kind in spec['kinds']:
        dataset = DATASETS.build(
            dict(
                type='VideoDataset',
                ann_file=kind['ann_file'],
                data_prefix=dict(video=kind['root']),
                pipeline=pipeline))
        for workers in spec['workers']:
            key = f'{kind["name"]}|{workers}'
            if time.time() > spec['deadline']:
                rows[key] = dict(
                    status='skipped', note='time budget used up', figures={})
                continue
            count = spec['videos_per_worker'] * max(workers, 1)
            try:
                seconds, done, shape = throughput(dataset, workers, count)
                rows[key] = dict(
                    status=STATUS_OK,
                    figures=dict(
                        videos=done,
                        seconds=seconds,
                        videos_per_s=done / seconds,
                        per_worker=done / seconds / max(workers, 1),
                        output_shape=list(shape)))
            except Exception as err:  # noqa: B902
                traceback.print_exc()
                rows[key] = dict(
                    status=failure_status(err),
                    error=error_text(err),
                    figures={})
            write_result(result_file, dict(rows=rows))


# ------------------------------------------------------- worker: limit
def load_test_config(spec: dict):
    """The generated test config with the command's ``--cfg-options``."""
    from mmengine.config import Config
    cfg = Config.fromfile(spec['config'])
    cfg.merge_from_dict(spec['cfg_options'])
    return cfg


def limit_worker(spec: dict, device: torch.device, result_file: str) -> None:
    """Save the random-weight checkpoint of the test config, then time
    decoding each distinct test video once (the config's workers) and
    encoding it once (random frames of the same shape)."""
    from decode_throughput import throughput
    from mmaction.registry import DATASETS, MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import autocast

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    cfg = load_test_config(spec)
    result = dict(figures={})
    figures = result['figures']
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict()), spec['checkpoint'])
    write_result(result_file, result)

    loader_cfg = cfg.test_dataloader
    dataset = DATASETS.build(loader_cfg.dataset.dataset)
    workers = loader_cfg.num_workers
    seconds, count, shape = throughput(dataset, workers, len(dataset))
    figures.update(
        decode_s=seconds,
        decode_videos=count,
        decode_workers=workers,
        frame_shape=list(shape))
    write_result(result_file, result)

    episodic = loader_cfg.dataset
    batch = loader_cfg.batch_size * episodic.num_ways * (
        episodic.num_shots + episodic.num_queries)
    fp16 = bool(cfg.test_cfg.get('fp16', False))
    model.to(device).eval()
    inputs = [
        torch.randint(0, 256, tuple(shape), dtype=torch.uint8)
        for _ in range(batch)
    ]

    def encode(num_videos):
        for start in range(0, num_videos, batch):
            chunk = dict(
                inputs=inputs[:min(batch, num_videos - start)],
                data_samples=None)
            data = model.data_preprocessor(chunk, False)
            with autocast(enabled=fp16):
                model(**data, mode='tensor').float()

    with torch.no_grad():
        encode(batch)  # warm-up
        synchronize(device)
        start = time.perf_counter()
        encode(len(dataset))
        synchronize(device)
        encode_s = time.perf_counter() - start
    frames = len(dataset) * shape[0]
    figures.update(
        encode_s=encode_s,
        encode_frames=frames,
        encode_fps=frames / encode_s,
        video_batch=batch,
        fp16=fp16)
    write_result(result_file, result)


WORKERS = dict(train=train_worker, feed=feed_worker, limit=limit_worker)


def worker_main(args) -> None:
    spec = json.loads(args.spec)
    device = torch.device(spec['device'])
    WORKERS[args.worker](spec, device, args.result_file)


def launch(kind: str, spec: dict, timeout: float, log_dir: str,
           log_name: str) -> tuple:
    """Run a worker subprocess; ``(result or None, failure note)``."""
    # The worker stops starting rows a little before it would be killed.
    spec = dict(spec, deadline=time.time() + timeout - min(10, timeout / 6))
    outcome = run_worker(
        [osp.abspath(__file__), '--worker', kind, '--spec',
         json.dumps(spec)],
        timeout=timeout)
    with open(osp.join(log_dir, log_name + '.log'), 'w') as f:
        f.write(outcome.log)
    note = ''
    if outcome.returncode != 0:
        note = outcome.describe_failure()
        if outcome.timed_out:
            note = f'timed out after {timeout:.0f} s (time budget)'
        tail = [
            line for line in outcome.log.strip().splitlines() if line.strip()
        ][-1:]
        if tail and not outcome.timed_out:
            note += f': {tail[0][:300]}'
    return outcome.result, note


# ----------------------------------------------------------------- parent
class Suite:
    """Runs the sections and collects rows, notes and targets."""

    def __init__(self, args, device: torch.device, work_dir: str,
                 out_dir: str) -> None:
        self.args = args
        self.quick = args.quick
        self.sizes = SIZES['quick' if args.quick else 'full']
        self.device = device
        self.work_dir = work_dir
        self.out_dir = out_dir
        self.log_dir = osp.join(out_dir, 'logs')
        os.makedirs(self.log_dir, exist_ok=True)
        self.budget = Budget(args.budget or self.sizes['budget'])
        self.rows: List[dict] = []
        self.notes: Dict[str, List[str]] = dict(train=[], feed=[], test=[])
        self.seconds: Dict[str, float] = {}

    def section_left(self, section: str) -> float:
        """Seconds this section may use, keeping the later ones' share."""
        order = ['train', 'feed', 'test']
        later = [
            s for s in order[order.index(section) + 1:]
            if s in self.args.sections
        ]
        return self.budget.left() - sum(self.sizes['reserve'][s]
                                        for s in later)

    def add(self, section: str, row_id: str, status: str, **fields) -> dict:
        row = dict(
            section=section,
            id=row_id,
            status=status,
            figures=fields.pop('figures', {}),
            note=fields.pop('note', ''),
            error=fields.pop('error', ''))
        row.update(fields)
        self.rows.append(row)
        return row

    # ------------------------------------------------------------ train
    def run_train(self) -> None:
        models = train_models()
        reasons = {name: pending_reason(e) for name, e in models.items()}
        remaining = sum(r is None for r in reasons.values())
        for name, entry in models.items():
            rows = {
                (e, p):
                dict(
                    section='train',
                    row_id=f'train/{name}/{e}/{p}',
                    model=name,
                    episode=e,
                    precision=p,
                    config=entry['configs'][e],
                    flags=' '.join(PRECISIONS[p]))
                for e in EPISODES
                for p in PRECISIONS
            }
            if reasons[name]:
                for row in rows.values():
                    self.add(status='pending', note=reasons[name], **row)
                continue
            # At most twice a fair share of what is left.
            left = self.section_left('train')
            timeout = min(left, 2 * left / remaining)
            remaining -= 1
            if timeout < 5:
                for row in rows.values():
                    self.add(
                        status='skipped', note='time budget used up', **row)
                continue
            spec = dict(
                device=str(self.device),
                configs=entry['configs'],
                model=entry.get('model'),
                overrides=entry['overrides'],
                quick_overrides=entry['quick'],
                quick=self.quick,
                episodes=list(EPISODES),
                precisions=list(PRECISIONS),
                size=self.sizes['size'],
                frames=self.sizes['frames'],
                warmup=self.sizes['warmup'],
                repeats=self.sizes['repeats'])
            print(f'... training step: {name}', flush=True)
            log_name = re.sub(r'[^A-Za-z0-9]+', '_', f'train {name}')
            result, failure = launch('train', spec, timeout, self.log_dir,
                                     log_name.strip('_'))
            measured = (result or {}).get('rows', {})
            for (episode, precision), row in rows.items():
                got = measured.get(f'{episode}|{precision}') or dict(
                    status='failed', error=failure or 'no result')
                got = dict(got)
                got.pop('flags', None)
                self.add(**row, **got)
        self.notes['train'].append(
            f'{self.sizes["warmup"]} warm-up + {self.sizes["repeats"]} timed '
            f'steps per row (median), {self.sizes["frames"]} frames of '
            f'{self.sizes["size"]} px, random weights; '
            'accumulative_counts=1 so that every step runs the optimizer.')

    # ------------------------------------------------------------- feed
    def fastest_step(self) -> Optional[dict]:
        """The measured training row that consumes the most videos/s."""
        rows = [
            r for r in self.rows
            if r['section'] == 'train' and r['status'] == STATUS_OK
        ]
        return max(
            rows, key=lambda r: r['figures']['videos_per_s'], default=None)

    def run_feed(self) -> None:
        workers_list = self.sizes['feed_workers']
        if self.section_left('feed') < 10:
            for kind in FEED_KINDS:
                for workers in workers_list:
                    self.add(
                        'feed',
                        f'feed/{kind}/{workers} workers',
                        'skipped',
                        videos=kind,
                        workers=workers,
                        note='time budget used up')
            return
        h264 = h264_encoder()
        kinds, jobs = [], []
        for kind, (width, height, frames,
                   codec) in zip(FEED_KINDS, self.sizes['feed_videos']):
            if codec == 'h264' and h264 is None:
                codec = 'mpeg4'
            label = (f'{width}x{height} '
                     f'{"H.264" if codec == "h264" else "MPEG-4"} '
                     f'{frames / 30:.0f} s')
            root = osp.join(self.work_dir, 'feed', kind)
            ext = '.mp4' if codec == 'h264' else '.avi'
            lines = []
            for i in range(self.sizes['feed_distinct']):
                rel = f'videos/{i}{ext}'
                jobs.append(
                    (osp.join(root,
                              rel), codec, width, height, frames, 1000 + i))
                lines.append(f'{rel} 0')
            ann, _ = write_split(root, 'train', lines, ['generated'])
            kinds.append(dict(name=kind, label=label, ann_file=ann, root=root))
        gen = generate_videos(jobs)
        encoder = h264 or 'no H.264 encoder here, MPEG-4 instead'
        self.notes['feed'].append(
            f'{gen["videos"]} distinct generated videos '
            f'({self.sizes["feed_distinct"]} per kind, 30 fps, textured '
            f'content; H.264 by PyAV ({encoder}), MPEG-4 Part 2 with GOP '
            '12 at 800 kbit/s) '
            f'written in {gen["seconds"]:.1f} s on {gen["processes"]} '
            'processes; each run cycles through them after a warm-up, '
            'with persistent workers, one video per batch, read from the '
            'page cache. The pipeline is the training one: 8 segment '
            'frames, resize to 256x256, random 224 crop.')
        spec = dict(
            device='cpu',
            kinds=kinds,
            workers=workers_list,
            videos_per_worker=self.sizes['feed_videos_per_worker'],
            frames=self.sizes['frames'])
        print('... data feed', flush=True)
        result, failure = launch('feed', spec, self.section_left('feed'),
                                 self.log_dir, 'feed')
        measured = (result or {}).get('rows', {})
        for kind in kinds:
            for workers in workers_list:
                row = measured.get(f'{kind["name"]}|{workers}') or dict(
                    status='failed', error=failure or 'no result')
                self.add(
                    'feed',
                    f'feed/{kind["name"]}/{workers} workers',
                    videos=kind['name'],
                    label=kind['label'],
                    workers=workers,
                    **row)

    # ------------------------------------------------------------- test
    def run_test(self) -> None:
        if self.budget.left() < 20:
            for row_id in TEST_ROWS:
                self.add('test', row_id, 'skipped', note='time budget used up')
            return
        sizes = self.sizes
        root = osp.join(self.work_dir, 'hmdb51_sized')
        width, height = sizes['test_resolution']
        jobs, lines = [], []
        num_classes, total = sizes['test_classes'], sizes['test_videos']
        for i in range(total):
            label = i % num_classes
            rel = f'videos/test/class_{label}/{i // num_classes}.avi'
            jobs.append((osp.join(root, rel), 'mpeg4', width, height,
                         sizes['test_frames'], i))
            lines.append(f'{rel} {label}')
        names = [f'generated action {c}' for c in range(num_classes)]
        ann, classes = write_split(root, 'test', lines, names)
        gen = generate_videos(jobs)
        self.notes['test'].append(
            f'{total} distinct generated test videos ({num_classes} '
            f'classes, {sizes["test_frames"]} frames of {width}x{height} at '
            '30 fps, MPEG-4 Part 2 avi like HMDB51) written in '
            f'{gen["seconds"]:.1f} s on {gen["processes"]} processes.')

        config, cfg_options = self.write_test_config(root, ann, classes)
        checkpoint = osp.join(self.work_dir, 'random_weights.pth')
        spec = dict(
            device=str(self.device),
            config=config,
            cfg_options=cfg_options,
            checkpoint=checkpoint)
        print('... cached test: physical limit', flush=True)
        result, failure = launch('limit', spec,
                                 max(0.45 * self.budget.left(), 10),
                                 self.log_dir, 'test_limit')
        limit = (result or {}).get('figures', {})
        total_id, limit_id = TEST_ROWS
        if not osp.exists(checkpoint):
            reason = failure or 'no checkpoint written'
            self.add('test', total_id, 'failed', error=reason)
            self.add('test', limit_id, 'failed', error=reason)
            return
        print('... cached test: tools/test.py', flush=True)
        test = self.run_test_tool(config, checkpoint, cfg_options)
        self.add('test', total_id, **test)
        figures = dict(limit)
        status, error = STATUS_OK, ''
        if 'encode_s' not in limit:
            status, error = 'failed', failure or 'incomplete'
        else:
            figures['limit_s'] = max(limit['decode_s'], limit['encode_s'])
            if test['status'] == STATUS_OK:
                figures['share_of_wall'] = figures['limit_s'] / \
                    test['figures']['wall_s']
                loop = test['figures'].get('loop_s')
                if loop:
                    figures['share_of_loop'] = figures['limit_s'] / loop
        self.add('test', limit_id, status, figures=figures, error=error)

    def write_test_config(self, root: str, ann: str, classes: str) -> tuple:
        """A config inheriting the HMDB51 test config, pointed at the
        generated split; plus the command's ``--cfg-options``."""
        entry = train_models()[TEST_MODEL]
        model = dict(entry['overrides'])
        if self.quick:
            model.update(entry['quick'])
        video = dict(
            ann_file=ann,
            data_prefix=dict(video=root),
            metainfo=dict(classes=classes))
        if self.quick:
            video['pipeline'] = quick_test_pipeline(self.sizes)
        lines = [
            '# Generated by benchmarks/gpu_suite.py: the HMDB51 1-shot '
            'config,', '# random weights, a generated HMDB51-sized test '
            'split.', f'_base_ = [{osp.join(REPO_ROOT, TEST_CONFIG)!r}]',
            f'model = {nested(model).get("model", {})!r}',
            f'test_dataloader = {dict(dataset=dict(dataset=video))!r}'
        ]
        path = osp.join(self.work_dir, 'hmdb51_sized_test.py')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        cfg_options = {
            'test_dataloader.dataset.num_episodes': self.sizes['test_episodes']
        }
        if self.sizes['test_workers'] is not None:
            cfg_options['test_dataloader.num_workers'] = \
                self.sizes['test_workers']
        return path, cfg_options

    def run_test_tool(self, config: str, checkpoint: str,
                      cfg_options: dict) -> dict:
        options = [f'{k}={v}' for k, v in cfg_options.items()]
        cmd = [
            sys.executable,
            osp.join(REPO_ROOT, 'tools', 'test.py'), config, checkpoint,
            '--work-dir',
            osp.join(self.work_dir, 'test_work_dir'), '--cfg-options'
        ] + options
        shown = ('python tools/test.py hmdb51_sized_test.py '
                 'random_weights.pth --cfg-options ' + ' '.join(options))
        log_path = osp.join(self.log_dir, 'test_tools_test.log')
        timeout = max(self.budget.left() - 5, 10)
        start = time.perf_counter()
        try:
            with open(log_path, 'w') as log:
                proc = subprocess.run(
                    cmd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    cwd=self.work_dir)
        except subprocess.TimeoutExpired:
            return dict(
                status='failed',
                command=shown,
                error=f'timed out after {timeout:.0f} s (time budget)')
        wall = time.perf_counter() - start
        with open(log_path) as f:
            text = f.read()
        if proc.returncode != 0:
            tail = text.strip().splitlines()[-1:] or ['']
            return dict(
                status='failed',
                command=shown,
                error=f'exit status {proc.returncode}: {tail[0][:300]}')
        figures = parse_test_log(text, self.sizes['frames'])
        figures['wall_s'] = wall
        if 'loop_s' in figures:
            figures['outside_loop_s'] = wall - figures['loop_s']
        return dict(status=STATUS_OK, command=shown, figures=figures)

    # ---------------------------------------------------------- targets
    def find(self, row_id: str) -> Optional[dict]:
        for row in self.rows:
            if row['id'] == row_id:
                return row
        return None

    def figure(self, row_id: str, key: str):
        row = self.find(row_id)
        if row is None or row['status'] != STATUS_OK:
            return None
        return row['figures'].get(key)

    def targets(self) -> List[dict]:
        out = []

        def target(name, goal, measured, ok, note=''):
            out.append(
                dict(
                    target=name,
                    goal=goal,
                    measured=measured,
                    met=ok,
                    note=note))

        def train_id(model, precision, episode='1-shot'):
            return f'train/{model}/{episode}/{precision}'

        vit = 'CLIP ViT-B/16'
        fp32 = self.figure(train_id(vit, 'fp32'), 'step_s')
        bf16 = self.figure(train_id(vit, 'AMP bf16'), 'step_s')
        if fp32 and bf16:
            speedup = fp32 / bf16
            ok = speedup >= BF16_SPEEDUP
            note = f'step {fp32:.3f} s in fp32, {bf16:.3f} s in AMP bf16'
            if not ok:
                note += (f'; {BF16_SPEEDUP / speedup:.2f}x short of the '
                         'target')
            target('ViT-B/16 1-shot: AMP bf16 speed vs fp32',
                   f'>= {BF16_SPEEDUP}x', f'{speedup:.2f}x', ok, note)
        else:
            target('ViT-B/16 1-shot: AMP bf16 speed vs fp32',
                   f'>= {BF16_SPEEDUP}x', 'not measured', None)
        for model in ('CLIP ViT-B/16', 'CLIP RN50'):
            name = f'{model} 1-shot: gradient checkpointing (AMP bf16)'
            goal = (f'>= {CKPT_MEMORY_SAVING:.0%} less peak memory for <= '
                    f'{CKPT_TIME_COST:.0%} more step time')
            base, ckpt = (train_id(model, 'AMP bf16'),
                          train_id(model, 'AMP bf16 + grad ckpt'))
            values = [
                self.figure(i, k) for i in (base, ckpt)
                for k in ('peak_gib', 'step_s')
            ]
            if None in values:
                target(name, goal, 'not measured', None)
                continue
            saving = 1 - values[2] / values[0]
            cost = values[3] / values[1] - 1
            misses = [
                f'peak {values[0]:.2f} -> {values[2]:.2f} GiB, step '
                f'{values[1]:.3f} -> {values[3]:.3f} s'
            ]
            if saving < CKPT_MEMORY_SAVING:
                misses.append(
                    f'memory saving {CKPT_MEMORY_SAVING - saving:.1%}'
                    ' short')
            if cost > CKPT_TIME_COST:
                misses.append(f'time cost {cost - CKPT_TIME_COST:.1%} over')
            target(name, goal,
                   f'{saving:.1%} less memory, {cost:+.1%} step time',
                   len(misses) == 1, '; '.join(misses))
        name = 'ViT-B/16 5-way 1-shot 5-query episode on a 24 GB card'
        goal = f'< {CARD_GIB} GiB with some setting'
        settings = []
        for precision in PRECISIONS:
            row = self.find(train_id(vit, precision))
            if row and row['status'] == STATUS_OK:
                figures = row['figures']
                peak = figures.get('peak_reserved_gib', figures['peak_gib'])
                settings.append(
                    (peak, figures['step_s'], precision, row['flags']))
        if settings:
            fitting = [x for x in settings if x[0] < CARD_GIB]
            # The fastest setting that fits, else the smallest.
            peak, _, precision, flags = min(
                fitting, key=lambda x: x[1]) if fitting else min(settings)
            note = 'peak per setting: ' + ', '.join(f'{x[2]} {x[0]:.1f} GiB'
                                                    for x in settings)
            if not fitting:
                note = f'{peak - CARD_GIB:.1f} GiB over; ' + note
            if self.device.type == 'cuda':
                note += ('; memory reserved by the allocator, the CUDA '
                         'context adds about 0.5 GiB')
            target(
                name, goal, f'{peak:.1f} GiB with {precision} '
                f'(tools/train.py {flags or "without flags"})', bool(fitting),
                note)
        else:
            target(name, goal, 'not measured', None)
        wall = self.figure(TEST_ROWS[0], 'wall_s')
        episodes = self.sizes['test_episodes']
        if wall:
            ok = wall <= TEST_SECONDS
            f = self.find(TEST_ROWS[0])['figures']
            note = (f'start-up and exit {fmt(f.get("outside_loop_s"), 1)} '
                    f's, encoding {fmt(f.get("encode_phase_s"), 1)} s, '
                    f'episodes {fmt(f.get("episode_phase_s"), 1)} s')
            if not ok:
                note = f'{wall - TEST_SECONDS:.1f} s over; ' + note
            target(
                f'{episodes:,}-episode HMDB51-sized cached test '
                '(tools/test.py, wall)', f'<= {TEST_SECONDS} s',
                f'{wall:.1f} s', ok, note)
        else:
            target(
                f'{episodes:,}-episode HMDB51-sized cached test '
                '(tools/test.py, wall)', f'<= {TEST_SECONDS} s',
                'not measured', None)
        fastest = self.fastest_step()
        for name in FEED_KINDS:
            rows = [
                r for r in self.rows if r['section'] == 'feed'
                and r['videos'] == name and r['status'] == STATUS_OK
            ]
            title = f'dataloader workers feeding the fastest step ({name})'
            if not rows or fastest is None:
                target(title, 'a measured worker count', 'not measured', None)
                continue
            need = fastest['figures']['videos_per_s']
            enough = [
                r['workers'] for r in rows
                if r['figures']['videos_per_s'] >= need
            ]
            best = max(rows, key=lambda r: r['figures']['videos_per_s'])
            per_worker = best['figures']['per_worker']
            if enough:
                target(title, f'>= {need:.0f} videos/s', f'{min(enough)} '
                       'workers', True)
            else:
                target(
                    title, f'>= {need:.0f} videos/s',
                    f'best {best["figures"]["videos_per_s"]:.0f} videos/s '
                    f'with {best["workers"]} workers', False,
                    f'{best["figures"]["videos_per_s"] / need:.0%} of the '
                    f'need; at {per_worker:.1f} videos/s per worker, about '
                    f'{math.ceil(need / per_worker)} workers (cores) would '
                    'be needed')
        if fastest is not None:
            self.notes['feed'].append(
                f'The fastest measured step ({fastest["model"]}, '
                f'{fastest["episode"]}, {fastest["precision"]}) consumes '
                f'{fastest["figures"]["videos_per_s"]:.1f} videos/s.')
        return out


def quick_test_pipeline(sizes: dict) -> list:
    """The test pipeline at ``--quick`` size (the config's at 224 px)."""
    crop = sizes['size']
    return [
        dict(type='DecordInit'),
        dict(
            type='FewShotSampleFrames',
            num_frames=sizes['frames'],
            mode='segment',
            test_mode=True),
        dict(type='DecordDecode'),
        dict(type='Resize', scale=(crop + 4, crop + 4), keep_ratio=False),
        dict(type='CenterCrop', crop_size=crop),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs')
    ]


def parse_test_log(text: str, frames: int) -> dict:
    """Figures from the log of ``tools/test.py`` (cached loop)."""
    figures = {}
    found = re.search(
        r'Cached evaluation: (\d+) episodes use (\d+) '
        r'distinct videos', text)
    if found:
        figures['episodes'] = int(found.group(1))
        figures['distinct_videos'] = int(found.group(2))
    encoded = re.findall(
        r'Encoding videos \(rank 0, \d+ ranks\): (\d+)/(\d+) '
        r'\(([\d.]+)/s', text)
    if encoded:
        done, total, rate = encoded[-1]
        figures['encode_phase_s'] = int(done) / float(rate)
        figures['encode_fps'] = float(rate) * frames
    heads = re.findall(
        r'Episodes \(cached features\): (\d+)/(\d+) \(([\d.]+)/s', text)
    if heads:
        done, total, rate = heads[-1]
        figures['episode_phase_s'] = int(done) / float(rate)
    if 'encode_phase_s' in figures and 'episode_phase_s' in figures:
        figures['loop_s'] = figures['encode_phase_s'] + \
            figures['episode_phase_s']
    accuracy = re.search(r'fewshot/accuracy: ([\d.]+)\s+fewshot/ci95', text)
    if accuracy:
        figures['accuracy'] = float(accuracy.group(1))
    return figures


# ----------------------------------------------------------------- output
def fmt(value, digits=2, unit=''):
    if value is None:
        return '-'
    return f'{value:.{digits}f}{unit}'


def status_cell(row: dict) -> str:
    """``status`` with its note and error in brackets."""
    details = '; '.join(x for x in (row.get('note'), row.get('error')) if x)
    return f'{row["status"]} ({details})' if details else row['status']


def percent(fraction: Optional[float]) -> str:
    return '-' if fraction is None else f'{100 * fraction:.0f}%'


def render(suite: Suite, targets: List[dict], info: dict, wall: float) -> str:
    mode = 'quick (CPU, toy sizes)' if suite.quick else 'full'
    lines = [
        '# mmfsar GPU benchmark suite', '',
        f'Mode: {mode}; device: {suite.device}; wall time {wall:.0f} s '
        f'(budget {suite.budget.seconds:.0f} s); sections: ' +
        ', '.join(f'{k} {v:.0f} s' for k, v in suite.seconds.items()) + '.', ''
    ]
    lines += [f'- {k}: {v}' for k, v in info.items()]
    lines += ['', '## Training step', '']
    memory_col = 'peak GiB (allocated / reserved)' \
        if suite.device.type == 'cuda' else 'peak GiB (RSS)'
    rows = []
    for row in suite.rows:
        if row['section'] != 'train':
            continue
        f = row['figures']
        peak = fmt(f.get('peak_gib'))
        if 'peak_reserved_gib' in f:
            peak += ' / ' + fmt(f['peak_reserved_gib'])
        rows.append([
            row['model'], row['episode'], row['precision'],
            f'`{row["flags"]}`' if row.get('flags') else '-',
            fmt(f.get('step_s'), 3, ' s'),
            fmt(f.get('videos_per_s'), 1), peak,
            status_cell(row)
        ])
    lines.append(
        markdown_table([
            'model', 'episode', 'precision', 'tools/train.py flags',
            'step (median)', 'videos/s', memory_col, 'status'
        ], rows))
    lines += [''] + [f'- {n}' for n in suite.notes['train']]
    lines += ['', '## Data feed (training pipeline)', '']
    fastest = suite.fastest_step()
    need = fastest['figures']['videos_per_s'] if fastest else None
    rows = []
    for row in suite.rows:
        if row['section'] != 'feed':
            continue
        f = row['figures']
        rate = f.get('videos_per_s')
        busy = '-' if rate is None or need is None else (
            'yes' if rate >= need else f'no ({rate / need:.0%})')
        rows.append([
            f'{row["videos"]} ({row["label"]})'
            if row.get('label') else row['videos'], row['workers'],
            fmt(rate, 1),
            fmt(f.get('per_worker'), 1),
            fmt(need, 1), busy,
            status_cell(row)
        ])
    lines.append(
        markdown_table([
            'videos', 'workers', 'videos/s', 'per worker',
            'fastest step needs', 'keeps it busy', 'status'
        ], rows))
    lines += [''] + [f'- {n}' for n in suite.notes['feed']]
    lines += ['', '## Cached test (tools/test.py)', '']
    rows = []
    tool, limit = (suite.find(i) for i in TEST_ROWS)
    if tool:
        f = tool['figures']
        rows.append([
            'tools/test.py, whole command',
            fmt(f.get('wall_s'), 1, ' s'),
            f'start-up and exit {fmt(f.get("outside_loop_s"), 1, " s")}, '
            f'loop {fmt(f.get("loop_s"), 1, " s")} (encoding '
            f'{fmt(f.get("encode_phase_s"), 1, " s")}, episodes '
            f'{fmt(f.get("episode_phase_s"), 1, " s")}); encoding '
            f'{fmt(f.get("encode_fps"), 0)} frames/s; '
            f'{f.get("episodes", "-")} episodes, '
            f'{f.get("distinct_videos", "-")} distinct videos',
            status_cell(tool)
        ])
    if limit:
        f = limit['figures']
        rows.append([
            'physical limit: decode + encode each distinct video once',
            fmt(f.get('limit_s'), 1, ' s'),
            f'decode {fmt(f.get("decode_s"), 1, " s")} with '
            f'{f.get("decode_workers", "-")} workers, encode '
            f'{fmt(f.get("encode_s"), 1, " s")} '
            f'({fmt(f.get("encode_fps"), 0)} frames/s); share of the '
            f'wall time {percent(f.get("share_of_wall"))}, of the loop '
            f'{percent(f.get("share_of_loop"))}',
            status_cell(limit)
        ])
    lines.append(markdown_table(['what', 'time', 'details', 'status'], rows))
    if tool and tool.get('command'):
        lines += ['', f'- Command: `{tool["command"]}`']
    lines += [f'- {n}' for n in suite.notes['test']]
    lines += ['', '## Targets (H200-class GPU)', '']
    rows = [[
        t['target'], t['goal'], t['measured'],
        ('n/a (quick run)' if suite.quick else {
            True: 'met',
            False: 'NOT met',
            None: 'n/a'
        }[t['met']]), t['note']
    ] for t in targets]
    lines.append(
        markdown_table(['target', 'goal', 'measured', 'verdict', 'note'],
                       rows))
    return '\n'.join(lines) + '\n'


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker_main(args)
        return
    start = time.perf_counter()
    device = resolve_device(args.device, args.quick)
    if device.type == 'cpu':
        # Keep every subprocess, tools/test.py included, off any GPU.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
        if not args.quick:
            print('No GPU here: the full sizes would take hours on the '
                  'CPU. Run with --quick for the CPU toy-size run.')
            sys.exit(2)
    elif device.index is not None:
        # tools/test.py takes the first visible GPU: make it this one.
        visible = os.environ.get('CUDA_VISIBLE_DEVICES')
        names = visible.split(',') if visible else None
        os.environ['CUDA_VISIBLE_DEVICES'] = names[device.index] \
            if names else str(device.index)
        device = torch.device('cuda')
    out_dir = args.out_dir or osp.join(REPO_ROOT, 'benchmarks', 'results',
                                       'gpu_quick' if args.quick else 'gpu')
    os.makedirs(out_dir, exist_ok=True)
    keep = args.work_dir is not None
    work_dir = osp.abspath(args.work_dir) if keep else tempfile.mkdtemp(
        prefix='mmfsar_gpu_suite_')
    os.makedirs(work_dir, exist_ok=True)
    suite = Suite(args, device, work_dir, out_dir)
    print(__doc__.strip().splitlines()[0])
    print(f'Output: {out_dir}; work dir: {work_dir}', flush=True)
    try:
        for section in ('train', 'feed', 'test'):
            if section in args.sections:
                begin = time.perf_counter()
                getattr(suite, f'run_{section}')()
                suite.seconds[section] = time.perf_counter() - begin
    finally:
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    targets = suite.targets()
    # Only now: describing the GPU initialises CUDA in this process.
    info = machine_info(device)
    wall = time.perf_counter() - start
    text = render(suite, targets, info, wall)
    with open(osp.join(out_dir, 'gpu_suite.md'), 'w') as f:
        f.write(text)
    with open(osp.join(out_dir, 'gpu_suite.json'), 'w') as f:
        json.dump(
            dict(
                mode='quick' if args.quick else 'full',
                device=str(device),
                machine=info,
                wall_s=wall,
                budget_s=suite.budget.seconds,
                rows=suite.rows,
                targets=targets,
                notes=suite.notes,
                section_seconds=suite.seconds),
            f,
            indent=1)
    print()
    print(text)


if __name__ == '__main__':
    main()
