# Copyright (c) mmfsar contributors. All rights reserved.
"""Whether a pipeline gives the same output every time it sees a video.

The cached evaluation encodes each video once and reuses the feature in
every episode, which matches end-to-end evaluation only when the pipeline is
deterministic. A transform counts as deterministic only when it is on the
allowlist below (matched by class, not by name) or the user declared it
so; anything else, a user transform or ``TorchVisionWrapper`` included,
counts as random.
"""
from typing import Iterable, List

from mmaction.registry import TRANSFORMS
from mmengine.dataset import Compose

DETERMINISTIC_TRANSFORMS = ('DecordInit', 'DecordDecode', 'OpenCVInit',
                            'OpenCVDecode', 'PyAVInit', 'PyAVDecode',
                            'PIMSInit', 'PIMSDecode', 'RawFrameDecode',
                            'ImageDecode', 'ArrayDecode', 'Resize',
                            'CenterCrop', 'ThreeCrop', 'TenCrop', 'Fuse',
                            'FormatShape', 'FormatAudioShape', 'Transpose',
                            'PackActionInputs')
"""MMAction2 transforms that never draw random numbers."""

TEST_MODE_TRANSFORMS = ('SampleFrames', 'DenseSampleFrames', 'SampleAVAFrames',
                        'UniformSample', 'UniformSampleFrames',
                        'FewShotSampleFrames')
"""Frame samplers that are deterministic with ``test_mode=True`` only."""


def _classes(names: Iterable[str]) -> tuple:
    return tuple(
        cls for cls in (TRANSFORMS.get(name) for name in names)
        if cls is not None)


def random_transforms(pipeline: Compose,
                      declared: Iterable[str] = ()) -> List[str]:
    """The transforms of ``pipeline`` that may give a different output for
    the same input.

    Args:
        pipeline (Compose): The pipeline.
        declared (Iterable[str]): Class names of transforms the user
            declares deterministic (e.g. their own, or a
            ``TorchVisionWrapper`` of a deterministic op).

    Returns:
        list[str]: One entry per random transform, its class name (with
        ``(test_mode=False)`` for a frame sampler in training mode).
    """
    declared = set(declared)
    always = _classes(DETERMINISTIC_TRANSFORMS)
    in_test_mode = _classes(TEST_MODE_TRANSFORMS)
    found = []
    for transform in pipeline.transforms:
        cls = type(transform)
        name = getattr(transform, '__name__', cls.__name__)
        if name in declared or cls in always:
            continue
        if cls in in_test_mode:
            if getattr(transform, 'test_mode', False) is not True:
                found.append(f'{name}(test_mode=False)')
            continue
        if cls is TRANSFORMS.get('Flip') and getattr(transform, 'flip_ratio',
                                                     None) in (0, 1):
            continue
        found.append(name)
    return found


def is_random_pipeline(pipeline: Compose,
                       declared: Iterable[str] = ()) -> bool:
    """Whether ``pipeline`` can give a different view of a video each call
    (see :func:`random_transforms`)."""
    return bool(random_transforms(pipeline, declared))
