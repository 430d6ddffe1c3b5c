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
    # Window W = 8 * 35 * 30 / 12 = 700 > 300 frames, so W = 296; start
    # (300 - 296 + 1) / 2 = 2.5, last 2.5 + 296 - 35 = 263.5, a step of
    # 37.29: 2.5, 39.79, 77.07, 114.36, 151.64, 188.93, 226.21, 263.5.
    assert sample(t, 300, fps=30) == [2, 39, 77, 114, 151, 188, 226, 263]
    # W = 8 * 35 * 29.97 / 12 = 699.3 frames of 1000: start 301.7 / 2 =
    # 150.85, last 815.15, a step of 94.9.
    assert sample(
        t, 1000, fps=29.97) == [150, 245, 340, 435, 530, 625, 720, 815]
    # A window shorter than the stride (W = 24 < 35) is spread over in
    # order: 3.5 to 3.5 + 24 - 1 in steps of 23 / 7.
    assert sample(t, 30, fps=30) == [3, 6, 10, 13, 16, 19, 23, 26]


def test_interval_mode_training_start_is_uniform():
    t = FewShotSampleFrames(num_frames=8, mode='interval')
    np.random.seed(0)
    draws = np.array([sample(t, 300, fps=30) for _ in range(400)])
    # Start uniform in [0, 5), then 7 steps of 261 / 7 = 37.29 frames.
    assert draws[:, 0].min() == 0 and draws[:, 0].max() == 4
    assert set(draws[:, 0]) == set(range(5))
    steps = np.diff(draws, axis=1)
    assert steps.min() >= 37 and steps.max() <= 38
    assert (draws[:, -1] - draws[:, 0]).min() >= 260


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
