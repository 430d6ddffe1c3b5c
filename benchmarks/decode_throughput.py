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

``--codecs`` instead measures the codecs the benchmarks ship in, on videos
it encodes with PyAV at their real sizes (textured, panning content with
noise, so the bitrate is that of camera footage, not of flat colours):

* ``ssv2-vp9``: VP9 ``.webm``, 427x240, 12 fps, 4 s (SSv2 as downloaded);
* ``ssv2-h264``: the same clips as H.264 ``.mp4``, 426x240 (what
  ``build_fsar_annotations.py --convert-webm`` writes);
* ``kinetics-h264``: H.264 ``.mp4``, 340x256, 30 fps, 10 s (the authors'
  short-side-256 copies);
* ``kinetics-h264-360p``: H.264 ``.mp4``, 640x360, 30 fps, 10 s (CVDF
  clips at a common original size);
* ``hmdb51-xvid``: MPEG-4 part 2 (XVID) ``.avi``, 320x240, 30 fps, 3 s;
* ``ucf101-xvid``: MPEG-4 part 2 (XVID) ``.avi``, 320x240, 25 fps, 7 s.

Run from the repository root::

    python benchmarks/decode_throughput.py
    python benchmarks/decode_throughput.py --data-root data/hmdb51 \\
        --split test --workers 0 4 8 --num-videos 400
    python benchmarks/decode_throughput.py --codecs ssv2-vp9 ssv2-h264 \\
        --workers 0 --pipelines test --num-videos 100
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import cv2
from _common import (REPO_ROOT, find_synthetic_root, format_table,
                     print_machine, split_files)

PIPELINES = 'configs/_base_/datasets/fsar_pipelines.py'
# name: (encoder, container, file suffix, codec tag, width, height, fps,
# frames).
CODECS = {
    'ssv2-vp9': ('libvpx-vp9', 'webm', '.webm', None, 427, 240, 12, 48),
    'ssv2-h264': ('libx264', 'mp4', '.mp4', None, 426, 240, 12, 48),
    'kinetics-h264': ('libx264', 'mp4', '.mp4', None, 340, 256, 30, 300),
    'kinetics-h264-360p': ('libx264', 'mp4', '.mp4', None, 640, 360, 30, 300),
    'hmdb51-xvid': ('mpeg4', 'avi', '.avi', 'XVID', 320, 240, 30, 90),
    'ucf101-xvid': ('mpeg4', 'avi', '.avi', 'XVID', 320, 240, 25, 175),
}
# Encodes videos in a fresh interpreter: PyAV's libvpx encoder fails to
# open once decord has loaded its own FFmpeg libraries.
_ENCODE = r"""
import sys
import av
import numpy as np
(root, encoder, container, suffix, tag, width, height, fps, frames,
 count) = sys.argv[1:]
width, height, fps, frames = int(width), int(height), int(fps), int(frames)
for v in range(int(count)):
    rng = np.random.default_rng(v)
    # A smooth random texture twice the frame size, panned across.
    small = rng.integers(0, 256, (height // 8 + 2, width // 4 + 2, 3))
    texture = np.kron(small, np.ones((16, 16, 1))).astype(np.float32)
    with av.open(f'{root}/{v}{suffix}', 'w', format=container) as out:
        stream = out.add_stream(encoder, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuv420p'
        if tag != 'None':
            stream.codec_tag = tag
        for i in range(frames):
            x, y = (3 * i) % width, i % height
            img = texture[y:y + height, x:x + width]
            img = img + rng.normal(0, 6, img.shape)
            frame = av.VideoFrame.from_ndarray(
                np.clip(img, 0, 255).astype(np.uint8), format='rgb24')
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
"""


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
    parser.add_argument(
        '--codecs',
        nargs='+',
        choices=list(CODECS),
        help='measure these real-codec presets on videos encoded here '
        '(see the module docstring) instead of --data-root')
    parser.add_argument(
        '--codec-videos',
        type=int,
        default=12,
        help='videos encoded per codec preset')
    return parser.parse_args(argv)


def make_codec_dataset(root: str, preset: str, count: int) -> tuple:
    """Encode ``count`` videos of a :data:`CODECS` preset into ``root``.

    Returns:
        tuple: ``(annotation file, description)``.
    """
    encoder, container, suffix, tag, width, height, fps, frames = \
        CODECS[preset]
    os.makedirs(root, exist_ok=True)
    subprocess.run([
        sys.executable, '-c', _ENCODE, root, encoder, container, suffix,
        str(tag), *map(str, (width, height, fps, frames, count))
    ],
                   check=True)
    ann = osp.join(root, 'videos.txt')
    with open(ann, 'w') as f:
        f.writelines(f'{v}{suffix} 0\n' for v in range(count))
    size = sum(
        osp.getsize(osp.join(root, f'{v}{suffix}'))
        for v in range(count)) / count
    return ann, (f'{preset}: {encoder} {suffix}, {width}x{height}, {fps} '
                 f'fps, {frames} frames, {size / 1024:.0f} KiB a video')


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


def run_dataset(ann, root, classes, pipelines, args, label, rows) -> None:
    """Time every pipeline and worker count on one annotation file."""
    from mmaction.registry import DATASETS
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
            print(f'Data: {label}; {len(dataset)} videos, '
                  f'{describe_video(dataset.get_data_info(0)["filename"])}')
            first = False
        for workers in args.workers:
            print(f'... {name} pipeline, {workers} workers', flush=True)
            seconds, count, shape = throughput(dataset, workers,
                                               args.num_videos)
            rate = count / seconds
            rows.append([
                label.split(':')[0] if args.codecs else 'data', name, workers,
                count, f'{seconds:.2f}', f'{rate:.1f}',
                f'{rate / max(workers, 1):.1f}', 'x'.join(map(str, shape))
            ])


def main(argv=None) -> None:
    args = parse_args(argv)
    cv2.setNumThreads(args.opencv_threads)
    from mmengine.registry import init_default_scope

    import mmfsar  # noqa: F401  (registration)
    init_default_scope('mmaction')
    print(__doc__.strip().splitlines()[0])
    print()
    print_machine()
    print(f'{args.num_videos} timed videos per run, one per batch; cv2 '
          f'threads {args.opencv_threads}.')
    print()
    pipelines = build_pipelines(args.frames)
    rows = []
    with tempfile.TemporaryDirectory(prefix='mmfsar_decode_') as tmp:
        if args.codecs:
            for preset in args.codecs:
                root = osp.join(tmp, preset)
                ann, label = make_codec_dataset(root, preset,
                                                args.codec_videos)
                run_dataset(ann, root, None, pipelines, args, label, rows)
        else:
            ann, root, classes, what = resolve_data(args, tmp)
            run_dataset(ann, root, classes, pipelines, args, what, rows)
    print()
    print(
        format_table([
            'data', 'pipeline', 'workers', 'videos', 'seconds', 'videos/s',
            'videos/s per worker', 'output (T,C,H,W)'
        ], rows, 2))
    print()
    print('0 workers: loading in the main process (counted as one worker).')


if __name__ == '__main__':
    main()
