# Copyright (c) mmfsar contributors. All rights reserved.
"""Video decoding + pipeline throughput per dataloader worker.

Runs an MMAction2 ``VideoDataset`` through the CLIP-FSAR frame pipelines of
``configs/_base_/datasets/fsar_pipelines.py``:

* train: DecordInit, FewShotSampleFrames(8), DecordDecode, Resize to
  256x256 (aspect ratio not kept), RandomCrop(224), FormatShape('NCHW'),
  PackActionInputs;
* test: the same with deterministic frame sampling and CenterCrop(224);

with 0, 1 and 2 dataloader workers (0: in the main process), one video per
batch, and prints videos per second in total and per worker (the main
process counting as one worker for 0). Workers are persistent and first
load a few warm-up videos, so their start-up is not timed. OpenCV threads
are set as MMAction2's runtime sets them (``--opencv-threads``, default 0).

Data: ``--ann-file`` (``relative/path label`` lines, paths relative to
``--data-root``), or ``--data-root`` alone with ``--split``
(``DATA_ROOT/<split>.txt`` or ``DATA_ROOT/annotations/<split>.txt``, e.g.
the output of ``tools/data/make_synthetic_fsar.py``); without either, the
synthetic dataset in ``data/synthetic`` (or ``data/synthetic_fsar``) if it
exists and ``--generate`` is not given, else videos generated into a
temporary folder with
``mmfsar.testing.make_video_dataset`` (``--gen-*`` options; mp4v, cheaper
to decode than the H.264 of most real datasets).

Run from the repository root::

    python benchmarks/decode_throughput.py
    python benchmarks/decode_throughput.py --data-root data/hmdb51 \\
        --split test --workers 0 4 8 --num-videos 400
"""
import argparse
import os.path as osp
import tempfile
import time

import cv2
from _common import (REPO_ROOT, find_synthetic_root, format_table,
                     print_machine, split_files)

PIPELINES = 'configs/_base_/datasets/fsar_pipelines.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Decoding + pipeline throughput per dataloader worker.')
    parser.add_argument(
        '--ann-file', help='annotation file (video path and label a line)')
    parser.add_argument(
        '--data-root', help='folder the video paths are relative to')
    parser.add_argument(
        '--classes', help='class-name file (optional; not needed to decode)')
    parser.add_argument(
        '--split',
        default='train',
        help='split under --data-root when --ann-file is not given')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--pipelines',
        nargs='+',
        choices=['train', 'test'],
        default=['train', 'test'])
    parser.add_argument(
        '--num-videos', type=int, default=200, help='timed videos per run')
    parser.add_argument('--frames', type=int, default=8, help='T')
    parser.add_argument(
        '--opencv-threads',
        type=int,
        default=0,
        help='cv2.setNumThreads (MMAction2 runtime: 0)')
    parser.add_argument(
        '--generate',
        action='store_true',
        help='use generated videos even where data/synthetic exists')
    parser.add_argument(
        '--gen-classes', type=int, default=5, help='generated classes')
    parser.add_argument(
        '--gen-videos-per-class',
        type=int,
        default=8,
        help='generated videos per class')
    parser.add_argument(
        '--gen-frames', type=int, default=48, help='generated video length')
    parser.add_argument(
        '--gen-size', type=int, default=240, help='generated frame size')
    return parser.parse_args(argv)


def resolve_data(args, tmp: str):
    """``(ann_file, data_root, classes, description)`` of the videos."""
    if args.ann_file:
        root = args.data_root or osp.dirname(args.ann_file)
        return args.ann_file, root, args.classes, args.ann_file
    root = args.data_root or (None if args.generate else find_synthetic_root())
    if root:
        ann, classes = split_files(root, args.split)
        return ann, root, args.classes or classes, ann
    from mmfsar.testing import make_video_dataset
    root = osp.join(tmp, 'videos')
    make_video_dataset(
        root,
        dict(train=(args.gen_classes, args.gen_videos_per_class)),
        num_frames=args.gen_frames,
        size=args.gen_size)
    ann, classes = split_files(root, 'train')
    return ann, root, classes, (
        f'{args.gen_classes * args.gen_videos_per_class} generated videos '
        f'(make_video_dataset, mp4v, {args.gen_frames} frames of '
        f'{args.gen_size}x{args.gen_size}) in {root}')


def build_pipelines(num_frames: int) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, PIPELINES))
    out = {}
    for name in ('train', 'test'):
        pipeline = cfg[f'{name}_pipeline']
        for step in pipeline:
            if step['type'] == 'FewShotSampleFrames':
                step['num_frames'] = num_frames
        out[name] = pipeline
    return out


def describe_video(path: str) -> str:
    import decord
    reader = decord.VideoReader(path)
    height, width = reader[0].shape[:2]
    return (f'e.g. {osp.basename(path)}: {len(reader)} frames of '
            f'{width}x{height} at {reader.get_avg_fps():.0f} fps')


class ListSampler:
    """A sampler whose indices can be replaced between epochs (the
    persistent workers of a DataLoader keep it)."""

    def __init__(self) -> None:
        self.indices = []

    def __iter__(self):
        return iter(list(self.indices))

    def __len__(self) -> int:
        return len(self.indices)


def throughput(dataset, workers: int, num_videos: int) -> tuple:
    """Seconds to load ``num_videos`` videos after a warm-up epoch."""
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    sampler = ListSampler()
    loader = DataLoader(
        dataset,
        batch_size=1,
        sampler=sampler,
        num_workers=workers,
        collate_fn=pseudo_collate,
        persistent_workers=workers > 0)
    size = len(dataset)
    warmup = 2 * max(workers, 1)
    sampler.indices = [i % size for i in range(warmup)]
    for _ in loader:
        pass
    sampler.indices = [(warmup + i) % size for i in range(num_videos)]
    start = time.perf_counter()
    count = 0
    for batch in loader:
        count += len(batch['inputs'])
    seconds = time.perf_counter() - start
    shape = tuple(batch['inputs'][0].shape)
    del loader
    return seconds, count, shape


def main(argv=None) -> None:
    args = parse_args(argv)
    cv2.setNumThreads(args.opencv_threads)
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    print(__doc__.strip().splitlines()[0])
    print()
    print_machine()
    with tempfile.TemporaryDirectory(prefix='mmfsar_decode_') as tmp:
        ann, root, classes, what = resolve_data(args, tmp)
        pipelines = build_pipelines(args.frames)
        rows = []
        first = True
        for name in args.pipelines:
            dataset_cfg = dict(
                type='VideoDataset',
                ann_file=ann,
                data_prefix=dict(video=root),
                pipeline=pipelines[name],
                test_mode=name == 'test')
            if classes:
                dataset_cfg['metainfo'] = dict(classes=classes)
            dataset = DATASETS.build(dataset_cfg)
            if first:
                print(
                    f'Data: {what}; {len(dataset)} videos, '
                    f'{describe_video(dataset.get_data_info(0)["filename"])}')
                print(f'{args.num_videos} timed videos per run, one per '
                      f'batch; cv2 threads {args.opencv_threads}.')
                print()
                first = False
            for workers in args.workers:
                print(f'... {name} pipeline, {workers} workers', flush=True)
                seconds, count, shape = throughput(dataset, workers,
                                                   args.num_videos)
                rate = count / seconds
                rows.append([
                    name, workers, count, f'{seconds:.2f}', f'{rate:.1f}',
                    f'{rate / max(workers, 1):.1f}', 'x'.join(map(str, shape))
                ])
    print()
    print(
        format_table([
            'pipeline', 'workers', 'videos', 'seconds', 'videos/s',
            'videos/s per worker', 'output (T,C,H,W)'
        ], rows, 1))
    print()
    print('0 workers: loading in the main process (counted as one worker).')


if __name__ == '__main__':
    main()
