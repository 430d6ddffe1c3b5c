# Copyright (c) mmfsar contributors. All rights reserved.
import numpy as np
import pytest

from mmfsar.datasets import FewShotSampleFrames, VideoColorJitter


def sample(transform, total, fps=30):
    return transform(dict(total_frames=total, start_index=0,
                          avg_fps=fps))['frame_inds'].tolist()


def test_segment_test_mode_takes_segment_centres():
    t = FewShotSampleFrames(num_frames=8, test_mode=True)
    assert sample(t, 80) == [5, 15, 25, 35, 45, 55, 65, 75]
    # The released code uses L // T frames per segment (tail unused).
    assert sample(t, 83) == [5, 15, 25, 35, 45, 55, 65, 75]


def test_segment_train_mode_is_random_inside_each_segment():
    t = FewShotSampleFrames(num_frames=8)
    np.random.seed(0)
    draws = np.array([sample(t, 80) for _ in range(200)])
    for i in range(8):
        assert draws[:, i].min() >= 10 * i and draws[:, i].max() < 10 * i + 10
    assert len({tuple(d) for d in draws}) > 100


def test_short_video_repeats_frames_in_order():
    for mode in ('segment', 'interval'):
        for test_mode in (True, False):
            t = FewShotSampleFrames(
                num_frames=8, mode=mode, test_mode=test_mode)
            assert sample(t, 5) == [0, 0, 1, 2, 2, 3, 4, 4]
    with pytest.raises(ValueError, match='no frames'):
        sample(FewShotSampleFrames(), 0)


def test_interval_mode_spreads_frames_over_the_clip():
    t = FewShotSampleFrames(num_frames=8, mode='interval', test_mode=True)
    inds = sample(t, 300, fps=30)
    # clip_len capped at (300 // 8) * 8 = 296, start = (300-296+1)//2 = 2,
    # linspace(2, 2 + 296 - 35, 8).
    assert inds == np.floor(np.linspace(2, 263, 8)).astype(int).tolist()
    assert inds == sorted(inds) and inds[-1] < 300


def test_video_color_jitter_is_consistent_across_frames():
    frame = np.random.RandomState(0).randint(0, 256, (8, 8, 3), np.uint8)
    results = dict(imgs=[frame.copy() for _ in range(4)])
    np.random.seed(3)
    out = VideoColorJitter()(results)['imgs']
    assert all(np.array_equal(out[0], o) for o in out[1:])
    assert not np.array_equal(out[0], frame)
    gray = VideoColorJitter(
        brightness=0, contrast=0, saturation=0, hue=0,
        grayscale_prob=1.0)(dict(imgs=[frame]))['imgs'][0]
    assert np.array_equal(gray[..., 0], gray[..., 1])
    assert np.array_equal(gray[..., 1], gray[..., 2])
