# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp
from typing import List

from mmaction.datasets import VideoDataset
from mmaction.registry import DATASETS

from mmfsar.utils import check_resolved


class AnnotationError(ValueError):
    """An annotation or class-name file that cannot be read as given."""


@DATASETS.register_module()
class FewShotVideoDataset(VideoDataset):
    """``VideoDataset`` whose annotation lines may hold paths with spaces.

    Each non-blank line is ``relative/path label``: the label is the last
    whitespace-separated field, and everything before it (spaces included)
    is the path, relative to ``data_prefix['video']``. MMAction2's
    ``VideoDataset`` splits a line on every space, so ``brush hair/a.avi 0``
    fails there with ``too many values to unpack``. Blank lines are
    skipped. Each video's info also carries ``ann_line``, its line number,
    for error messages.

    Args:
        *args: ``VideoDataset``'s arguments; ``multi_class`` and
            ``delimiter`` are not supported.
        **kwargs: Same.

    Raises:
        AnnotationError: naming the file and line, for a line without a
            label, a label that is not an integer, or an annotation file
            without any video.
    """

    def __init__(self, *args, **kwargs) -> None:
        for key in ('multi_class', 'delimiter'):
            if kwargs.get(key):
                raise ValueError(f'FewShotVideoDataset reads single-label '
                                 f'`path label` lines; {key} is not '
                                 'supported.')
        for key in ('ann_file', 'data_prefix', 'metainfo'):
            check_resolved(kwargs.get(key), key)
        if args:
            check_resolved(args[0], 'ann_file')
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One ``dict(filename, label, ann_line)`` per annotation line."""
        if not osp.isfile(self.ann_file):
            raise AnnotationError(
                f'Annotation file not found: {self.ann_file}')
        prefix = self.data_prefix.get('video')
        data_list = []
        with open(self.ann_file, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                fields = line.rstrip('\r\n').rsplit(None, 1)
                if not fields:
                    continue
                where = f'{self.ann_file}, line {number}'
                if len(fields) == 1:
                    raise AnnotationError(
                        f'{where}: {line.strip()!r} is not `path label` '
                        '(a relative video path, a space and an integer '
                        'class label).')
                path, label = fields[0].strip(), fields[1]
                try:
                    label = int(label)
                except ValueError:
                    raise AnnotationError(
                        f'{where}: the label {label!r} of {path!r} is not '
                        'an integer (`path label` lines; the label is the '
                        'last field).') from None
                filename = osp.join(prefix, path) if prefix else path
                data_list.append(
                    dict(filename=filename, label=label, ann_line=number))
        if not data_list:
            raise AnnotationError(
                f'Annotation file {self.ann_file} lists no videos (expected '
                '`path label` lines).')
        return data_list
