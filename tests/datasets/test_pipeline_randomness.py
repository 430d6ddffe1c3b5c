# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
from mmaction.registry import DATASETS, TRANSFORMS
from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose

from mmfsar.datasets import is_random_pipeline, random_transforms

DECODE = [dict(type='DecordInit'), dict(type='DecordDecode')]
TAIL = [
    dict(type='Resize', scale=(36, 36), keep_ratio=False),
    dict(type='CenterCrop', crop_size=32),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]


@TRANSFORMS.register_module()
class _ShiftFrames(BaseTransform):
    """A user transform: random unless the user says otherwise."""

    def transform(self, results):
        return results


@TRANSFORMS.register_module()
class CenterCropJitter(BaseTransform):
    """A user transform named like a deterministic one."""

    def transform(self, results):
        return results


def pipeline(*middle, sampler=None):
    sampler = sampler or dict(
        type='FewShotSampleFrames', num_frames=4, test_mode=True)
    return Compose([DECODE[0], sampler, DECODE[1], *middle, *TAIL])


@pytest.mark.parametrize('middle,sampler,expected', [
    ((), None, []),
    ((dict(type='Flip', flip_ratio=0), ), None, []),
    ((dict(type='Flip', flip_ratio=1), ), None, []),
    ((dict(type='Flip', flip_ratio=0.5), ), None, ['Flip']),
    ((dict(type='RandomCrop', size=32), ), None, ['RandomCrop']),
    ((), dict(type='FewShotSampleFrames',
              num_frames=4), ['FewShotSampleFrames(test_mode=False)']),
    ((), dict(type='SampleFrames', clip_len=4,
              num_clips=1), ['SampleFrames(test_mode=False)']),
    ((), dict(type='SampleFrames', clip_len=4, num_clips=1,
              test_mode=True), []),
    ((dict(type='TorchVisionWrapper',
           op='Grayscale'), ), None, ['TorchVisionWrapper']),
    ((dict(type='_ShiftFrames'), ), None, ['_ShiftFrames']),
    ((dict(type='CenterCropJitter'), ), None, ['CenterCropJitter']),
])
def test_only_known_transforms_count_as_deterministic(middle, sampler,
                                                      expected):
    pipe = pipeline(*middle, sampler=sampler)
    assert random_transforms(pipe) == expected
    assert is_random_pipeline(pipe) == bool(expected)


def test_declared_transforms_count_as_deterministic():
    pipe = pipeline(
        dict(type='_ShiftFrames'), dict(type='RandomCrop', size=32))
    assert random_transforms(pipe, ['_ShiftFrames']) == ['RandomCrop']


def test_dataset_reports_support_and_query_pipelines(tmp_path):
    lines = ''.join(f'c{c}/v{i}.mp4 {c}\n' for c in range(3) for i in range(2))
    for c in range(3):
        (tmp_path / f'c{c}').mkdir()
        for i in range(2):
            (tmp_path / f'c{c}' / f'v{i}.mp4').write_bytes(b'')
    (tmp_path / 'ann.txt').write_text(lines)
    (tmp_path / 'classes.txt').write_text('a\nb\nc\n')

    def build(**kwargs):
        return DATASETS.build(
            dict(
                type='EpisodicDataset',
                num_ways=3,
                dataset=dict(
                    type='FewShotVideoDataset',
                    ann_file=str(tmp_path / 'ann.txt'),
                    data_prefix=dict(video=str(tmp_path)),
                    metainfo=dict(classes=str(tmp_path / 'classes.txt')),
                    pipeline=list(
                        pipeline(dict(type='_ShiftFrames')).transforms),
                    test_mode=True),
                **kwargs))

    assert build().random_transforms() == ['_ShiftFrames']
    declared = build(deterministic_transforms=['_ShiftFrames'])
    assert declared.random_transforms() == []
    query = [*DECODE, dict(type='Flip', flip_ratio=0.5), *TAIL]
    with_query = build(
        deterministic_transforms=['_ShiftFrames'], query_pipeline=query)
    assert with_query.random_transforms() == ['Flip']
