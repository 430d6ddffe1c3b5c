# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
from mmaction.registry import DATASETS

from mmfsar.datasets import AnnotationError
from mmfsar.utils import PlaceholderError


def build(tmp_path, text, type='FewShotVideoDataset', **kwargs):
    ann = tmp_path / 'ann.txt'
    ann.write_text(text)
    return DATASETS.build(
        dict(
            type=type,
            ann_file=str(ann),
            data_prefix=dict(video=str(tmp_path / 'root')),
            pipeline=[],
            **kwargs))


def test_paths_with_spaces_and_blank_lines(tmp_path):
    ds = build(tmp_path, 'brush hair/a b.avi 0\n\n  kick ball/c.avi\t3 \n')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['filename'] for i in infos] == [
        f'{tmp_path}/root/brush hair/a b.avi',
        f'{tmp_path}/root/kick ball/c.avi'
    ]
    assert [i['label'] for i in infos] == [0, 3]
    assert [i['ann_line'] for i in infos] == [1, 3]
    # MMAction2's VideoDataset splits on every space.
    with pytest.raises(ValueError, match='too many values to unpack'):
        build(tmp_path, 'brush hair/a b.avi 0\n', type='VideoDataset')


@pytest.mark.parametrize('text,message', [
    ('a.avi 0\nb.avi x1\n', "line 2: the label 'x1' of 'b.avi' is not an "
     'integer'),
    ('a.avi 0\nb.avi\n', "line 2: 'b.avi' is not `path label`"),
    ('\n  \n', 'lists no videos'),
    ('', 'lists no videos'),
])
def test_bad_annotation_names_file_and_line(tmp_path, text, message):
    with pytest.raises(AnnotationError) as err:
        build(tmp_path, text)
    assert str(tmp_path / 'ann.txt') in str(err.value)
    assert message in str(err.value)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(AnnotationError, match='Annotation file not found: '):
        DATASETS.build(
            dict(
                type='FewShotVideoDataset',
                ann_file=str(tmp_path / 'nope.txt'),
                pipeline=[]))


def test_unresolved_placeholder_is_refused(tmp_path):
    with pytest.raises(PlaceholderError) as err:
        DATASETS.build(
            dict(
                type='FewShotVideoDataset',
                ann_file='${ann_root}/test.txt',
                pipeline=[]))
    assert "ann_file='${ann_root}/test.txt'" in str(err.value)
    assert 'resolve_placeholders(cfg)' in str(err.value)
