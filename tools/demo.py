# Copyright (c) mmfsar contributors. All rights reserved.
"""`make demo`: a smoke train + test of the tiny config on generated videos.

Generates the small smoke dataset in ./data/smoke when missing, trains the
tiny random-weight CLIP-FSAR for a few iterations and tests it.
"""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')
WORK_DIR = osp.join(ROOT, 'work_dirs', 'smoke_demo')


def main():
    sys.path.insert(0, ROOT)
    if not osp.exists(osp.join(ROOT, 'data', 'smoke', 'annotations')):
        from mmfsar.testing import make_video_dataset
        print('Generating the smoke videos in data/smoke ...')
        make_video_dataset(osp.join(ROOT, 'data', 'smoke'))
    os.chdir(ROOT)
    python = sys.executable
    subprocess.run([python, 'tools/train.py', CONFIG, '--work-dir', WORK_DIR],
                   check=True)
    subprocess.run([
        python, 'tools/test.py', CONFIG,
        osp.join(WORK_DIR, 'iter_4.pth'), '--work-dir', WORK_DIR
    ],
                   check=True)


if __name__ == '__main__':
    main()
