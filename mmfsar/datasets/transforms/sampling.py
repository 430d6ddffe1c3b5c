# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict

import numpy as np
import torch
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class FewShotSampleFrames(BaseTransform):
    """Sample T frames of a video the way the released CLIP-FSAR does
    (docs/method.md).

    ``mode='segment'`` (SSv2, UCF101, HMDB51): the L frames are cut into T
    segments of ``L // T`` frames and one frame is taken from each: a random
    one in training, the segment centre in test mode. ``mode='interval'``
    (Kinetics-100): T frames spread evenly over a window of
    ``W = T * sampling_rate * fps / 12`` frames, or ``(L // T) * T`` where
    W exceeds L. The window starts at ``s``, uniform in ``[0, L - W + 1]``
    in training and ``(L - W + 1) / 2`` in test mode, and frame i is
    ``floor(s + i * (W - sampling_rate) / (T - 1))``. As released, ``W``
    and ``s`` are not rounded and the T positions are computed in float32
    (``torch.linspace``), so the indices are the released ones.

    Two cases deviate on purpose, where the released formula gives
    frames out of time order: a video shorter than T frames repeats frames
    in order, and a window shorter than ``sampling_rate`` (``L < 40`` at
    T = 8) is spread over in order (last frame ``s + W - 1``) rather than
    run through backwards.

    Required keys: ``total_frames``, ``start_index`` (and ``avg_fps`` for
    interval mode). Added keys: ``frame_inds``, ``clip_len``,
    ``frame_interval``, ``num_clips``.

    Args:
        num_frames (int): T. Defaults to 8.
        mode (str): ``'segment'`` or ``'interval'``. Defaults to
            ``'segment'``.
        sampling_rate (int): Frame stride of interval mode at 12 fps.
            Defaults to 35 (the Kinetics-100 setting).
        test_mode (bool): Deterministic sampling. False also in test
            pipelines reproduces the released code's random test frames.
            Defaults to False.
    """

    def __init__(self,
                 num_frames: int = 8,
                 mode: str = 'segment',
                 sampling_rate: int = 35,
                 test_mode: bool = False) -> None:
        if mode not in ('segment', 'interval'):
            raise ValueError(f"mode must be 'segment' or 'interval', got "
                             f'{mode!r}')
        self.num_frames = num_frames
        self.mode = mode
        self.sampling_rate = sampling_rate
        self.test_mode = test_mode

    def _repeat(self, total: int) -> np.ndarray:
        return np.floor((np.arange(self.num_frames) + 0.5) * total /
                        self.num_frames).astype(np.int64)

    def _segment(self, total: int) -> np.ndarray:
        seg = total // self.num_frames
        starts = np.arange(self.num_frames) * seg
        if self.test_mode:
            return starts + seg // 2
        return starts + np.random.randint(seg, size=self.num_frames)

    def _interval(self, total: int, fps: float) -> np.ndarray:
        clip_len = self.num_frames * self.sampling_rate * fps / 12
        if clip_len > total:
            clip_len = (total // self.num_frames) * self.num_frames
        max_start = total - clip_len + 1
        start = max_start / 2 if self.test_mode else np.random.uniform(
            0, max_start)
        end = start + clip_len - self.sampling_rate
        if end < start:  # A window shorter than the stride.
            end = start + clip_len - 1
        inds = torch.linspace(start, end, self.num_frames, dtype=torch.float32)
        return inds.clamp(0, total - 1).long().numpy()

    def transform(self, results: Dict) -> Dict:
        total = int(results['total_frames'])
        if total <= 0:
            raise ValueError(
                f'{results.get("filename", "video")} has no frames.')
        if total < self.num_frames:
            inds = self._repeat(total)
        elif self.mode == 'segment':
            inds = self._segment(total)
        else:
            inds = self._interval(total, float(results.get('avg_fps', 30)))
        results['frame_inds'] = (inds +
                                 results['start_index']).astype(np.int32)
        results['clip_len'] = self.num_frames
        results['frame_interval'] = None
        results['num_clips'] = 1
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_frames={self.num_frames}, '
                f'mode={self.mode!r}, sampling_rate={self.sampling_rate}, '
                f'test_mode={self.test_mode})')
