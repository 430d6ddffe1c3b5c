# Copyright (c) mmfsar contributors. All rights reserved.
import copy
import hashlib
import logging
import os
import os.path as osp
import random
from collections import defaultdict
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmaction.registry import DATASETS
from mmengine.dataset import BaseDataset, Compose
from mmengine.logging import print_log

from mmfsar.utils import check_resolved
from .episode_file import EPISODE_KEYS, EpisodeFileError, read_episode_file
from .few_shot_video_dataset import AnnotationError
from .pipeline_randomness import is_random_pipeline  # noqa: F401
from .pipeline_randomness import random_transforms


@contextmanager
def local_seed(*entropy: int):
    """Seed ``numpy.random`` and ``random`` from ``entropy`` inside the
    block and restore their previous states after it.

    mmaction's transforms draw from these global generators; seeding them
    per video makes an augmented episode a function of its index alone, with
    any number of dataloader workers.
    """
    seed = np.random.SeedSequence(list(entropy)).generate_state(1)[0]
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(int(seed))
    random.seed(int(seed))
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hash_keys(*parts) -> np.ndarray:
    """Pseudo-random uint64 keys, one per element of the broadcast
    integer arrays ``parts``.

    Each key is a pure function of its parts: SplitMix64's finaliser
    applied to each part in turn. Sorting keys gives a uniformly random
    order of whatever they are drawn for, for whole batches of episodes at
    once (a NumPy ``Generator`` per episode costs ~100 us in Python).
    ``uint64`` parts (e.g. :func:`stable_ids`) are used as they are, other
    integers through their int64 two's complement.
    """
    key = np.zeros((), dtype=np.uint64)
    with np.errstate(over='ignore'):
        for part in parts:
            part = np.asarray(part)
            if part.dtype != np.uint64:
                part = part.astype(np.int64).astype(np.uint64)
            x = key ^ (part + _GOLDEN)
            x = (x ^ (x >> np.uint64(30))) * _MIX1
            x = (x ^ (x >> np.uint64(27))) * _MIX2
            key = x ^ (x >> np.uint64(31))
    return np.asarray(key)


def stable_ids(names: Sequence[str]) -> np.ndarray:
    """A stable 64-bit id per string: the first 8 bytes of its BLAKE2b
    digest (UTF-8), the same on every machine, run and Python version.

    Returns:
        np.ndarray: uint64 ids, shape (len(names),).
    """
    return np.array([
        int.from_bytes(
            hashlib.blake2b(name.encode('utf-8'), digest_size=8).digest(),
            'little') for name in names
    ],
                    dtype=np.uint64).reshape(len(names))


def first_use(indices: Sequence[int],
              episodes: Dict[str,
                             np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The distinct videos of episodes and the first episode using each.

    Args:
        indices (Sequence[int]): Episode indices, in order.
        episodes (dict[str, np.ndarray]): Their compositions, as
            :meth:`EpisodicDataset.get_episodes` returns.

    Returns:
        tuple[np.ndarray, np.ndarray]: The sorted distinct wrapped-dataset
        indices, and for each the first of ``indices`` whose episode uses
        it.
    """
    videos = np.concatenate([episodes['support'], episodes['query']], axis=1)
    distinct, first = np.unique(videos.reshape(-1), return_index=True)
    return distinct, np.asarray(
        indices, dtype=np.int64)[first // videos.shape[1]]


class VideoLoadError(RuntimeError):
    """A video of an episode could not be read or processed."""


def _check_not_empty(ann_file) -> None:
    """Refuse an annotation file without a single non-blank line (mmengine
    fails on it with ``need at least one array to concatenate``)."""
    if not isinstance(ann_file, str) or not osp.isfile(ann_file):
        return
    with open(ann_file, encoding='utf-8', errors='replace') as f:
        if not any(line.strip() for line in f):
            raise AnnotationError(
                f'Annotation file {ann_file} lists no videos (expected '
                '`path label` lines).')


def _check_distinct(ids: np.ndarray, what: str) -> None:
    """Two different names with one 64-bit id would share their episodes;
    at the sizes of video datasets that is a 1 in 10^9 event, but refuse
    it rather than trust it."""
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f'Two different {what} have the same 64-bit id '
                         '(BLAKE2b collision); rename one of them.')


def _missing_report(path: str, where: str, classes: Dict[str, int],
                    videos: Dict[str, int], wrong: List[str],
                    num_episodes: int) -> str:
    """What this copy lacks of an episode file, one item per line."""
    sections = {
        'classes missing from the class-name list': [
            f'{name!r} (first needed on line {n})'
            for name, n in classes.items()
        ],
        'videos missing from the annotation file':
        [f'{video} (first needed on line {n})' for video, n in videos.items()],
        'videos whose class differs':
        wrong,
    }
    parts = [
        f'This copy of the data{where} cannot evaluate the episodes of '
        f'{path} ({num_episodes} episodes):'
    ]
    for title, items in sections.items():
        if items:
            more = len(items) - 50
            shown = '\n    '.join(items[:50] + [f'... and {more} more'] *
                                  (more > 0))
            parts.append(f'  {len(items)} {title}:\n    {shown}')
    return '\n'.join(parts)


@DATASETS.register_module()
class EpisodicDataset:
    """Turn any labelled MMAction2 dataset into N-way K-shot episodes.

    Index ``i`` is episode ``i``: N classes and K+Q distinct videos of each,
    support videos first, then queries, both in class order. The episode is
    a pure function of ``episode_seed``, ``i`` and the *names* involved:
    the class names and each video's path relative to the data root (as the
    annotation file writes it), never of line positions or of the data
    root. A copy of a benchmark that lacks some videos therefore draws the
    same episodes as the full copy, except those that need a missing video,
    and two copies at different roots draw the same episodes. Every run,
    number of workers and process count sees the same episode ``i``; the
    randomness of a training pipeline is a function of ``(episode_seed, i)``
    too. Validation and test episodes are therefore fixed by
    ``episode_seed``; training episodes differ from index to index, and
    ``EpisodeSampler`` gives each rank its own indices.

    ``episodes_file`` evaluates the episodes of a file written by
    ``tools/data/export_episodes.py`` instead (see
    :mod:`mmfsar.datasets.episode_file`), refusing, with the list, when
    this copy lacks a video or class the file needs.

    Each video goes through the wrapped dataset's own pipeline (or
    ``query_pipeline`` for queries). Its packed data sample carries the
    episode label 0..N-1 as ``gt_label`` and, in metainfo, ``episode_idx``,
    ``is_query``, ``class_id`` (the label in the wrapped dataset, which
    indexes its ``classes``), ``num_ways`` and ``data_idx``.

    Args:
        dataset (dict | BaseDataset): The wrapped dataset. It must have
            labels and ``metainfo['classes']`` (e.g. a
            ``FewShotVideoDataset`` with
            ``metainfo=dict(classes='classes.txt')``).
        num_ways (int): N. Defaults to 5.
        num_shots (int): K. Defaults to 1.
        num_queries (int): Q, queries per class. Defaults to 1.
        num_episodes (int): Length of the dataset. With ``episodes_file``,
            the number of the file's episodes to use when smaller than the
            file. Defaults to 10000.
        episode_seed (int): Seed of the episodes. Defaults to 0.
        query_pipeline (list[dict], optional): A different pipeline for
            query videos (Kinetics-100 query augmentation). Defaults to None.
        replace_bad_videos (bool): In training only, replace a video that
            fails to load by another video of the same class, with a
            warning. Defaults to False: the error stops the run.
        deduplicate (bool): Keep only the first line of a video listed
            more than once in the annotation file (same relative path and
            label), logging how many lines were dropped. Defaults to False:
            a duplicate is an error, since it could become the support and
            the query of one episode.
        check_videos (bool, optional): Check at initialisation that every
            video exists, listing the missing ones. Defaults to None: check
            in test mode (validation and test), not in training.
        episodes_file (str, optional): Evaluate the episodes of this file
            instead of drawing them. Its ways, shots and queries must be
            ``num_ways``, ``num_shots`` and ``num_queries``. Defaults to
            None.
        deterministic_transforms (Sequence[str]): Class names of pipeline
            transforms that the user declares deterministic, for the cached
            evaluation (see :meth:`random_transforms`). Defaults to ().
        lazy_init (bool): Defer indexing the wrapped dataset. Defaults to
            False.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 num_ways: int = 5,
                 num_shots: int = 1,
                 num_queries: int = 1,
                 num_episodes: int = 10000,
                 episode_seed: int = 0,
                 query_pipeline: Optional[List[dict]] = None,
                 replace_bad_videos: bool = False,
                 deduplicate: bool = False,
                 check_videos: Optional[bool] = None,
                 episodes_file: Optional[str] = None,
                 deterministic_transforms: Sequence[str] = (),
                 lazy_init: bool = False) -> None:
        self._classes_source = None
        if isinstance(dataset, dict):
            check_resolved(dataset, 'dataset')
            classes = dataset.get('metainfo', {}).get('classes')
            if isinstance(classes, str):
                self._classes_source = classes
                if not osp.isfile(classes):
                    raise AnnotationError(
                        f'Class-name file not found: {classes}')
            _check_not_empty(dataset.get('ann_file'))
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        for key, value in dict(
                num_ways=num_ways,
                num_shots=num_shots,
                num_queries=num_queries,
                num_episodes=num_episodes).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{key} must be a positive int, got '
                                 f'{value!r}.')
        self.num_ways = num_ways
        self.num_shots = num_shots
        self.num_queries = num_queries
        self.num_episodes = num_episodes
        self.episode_seed = int(episode_seed)
        self.test_mode = bool(getattr(dataset, 'test_mode', False))
        if replace_bad_videos and self.test_mode:
            raise ValueError('replace_bad_videos is for training only: a '
                             'test result must not silently change data.')
        self.replace_bad_videos = replace_bad_videos
        self.num_replaced = 0
        self.deduplicate = bool(deduplicate)
        self.num_duplicates = 0
        self.check_videos = self.test_mode if check_videos is None else bool(
            check_videos)
        self.episodes_file = episodes_file
        self.deterministic_transforms = tuple(deterministic_transforms)
        self.query_pipeline = Compose(
            query_pipeline) if query_pipeline is not None else None
        self._imported = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # ----------------------------------------------------------- structure
    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo (with ``classes``)."""
        return copy.deepcopy(self.dataset.metainfo)

    @property
    def class_names(self) -> List[str]:
        """Name of each class id."""
        return list(self.dataset.metainfo['classes'])

    @property
    def pipeline(self) -> Compose:
        """The support (and default query) pipeline."""
        return self.dataset.pipeline

    def random_transforms(self) -> List[str]:
        """The transforms of the support and query pipelines that may give
        a different view of a video each time (empty when both pipelines
        are deterministic).

        Only MMAction2 transforms known to be deterministic, and frame
        samplers with ``test_mode=True``, count as deterministic; any other
        transform counts as random unless its class name is in
        ``deterministic_transforms``.
        """
        found = []
        for pipeline in (self.pipeline, self.query_pipeline):
            if pipeline is not None:
                found += random_transforms(pipeline,
                                           self.deterministic_transforms)
        return list(dict.fromkeys(found))

    def _where(self) -> str:
        ann = getattr(self.dataset, 'ann_file', None)
        return f' (ann_file={ann!r})' if ann else ''

    def _line(self, data_idx: int) -> str:
        """Where video ``data_idx`` is listed: its annotation line."""
        line = self.dataset.get_data_info(int(data_idx)).get('ann_line')
        return f'line {line}' if line is not None else f'entry {data_idx}'

    def video_key(self, data_idx: int) -> str:
        """The identity of a video of the wrapped dataset: its path relative
        to the data root (``data_prefix``), with ``/`` separators, as the
        annotation file lists it."""
        return self._video_key(self.dataset.get_data_info(int(data_idx)))

    def _video_key(self, info: dict) -> str:
        path = osp.normpath(str(info.get('filename', info.get('frame_dir'))))
        prefixes = getattr(self.dataset, 'data_prefix', None) or {}
        for prefix in prefixes.values():
            if prefix:
                prefix = osp.normpath(prefix)
                if path.startswith(prefix + os.sep):
                    path = path[len(prefix) + 1:]
                    break
        return path.replace(os.sep, '/')

    # -------------------------------------------------------------- indexing
    def full_init(self) -> None:
        """Index the videos of every class and validate the episode shape.

        Raises:
            ValueError: On missing, blank or duplicate class names, a label
                without a name, a class-name list that does not match the
                labels, a video listed twice (unless ``deduplicate``), a
                missing video (with ``check_videos``), fewer than
                ``num_ways`` classes, a class with fewer than
                ``num_shots + num_queries`` videos, or an ``episodes_file``
                that does not fit.
        """
        if self._fully_initialized:
            return
        self.dataset.full_init()
        classes = self._checked_classes()
        by_class: Dict[int, List[int]] = defaultdict(list)
        keys: Dict[str, int] = {}
        duplicates, conflicts = [], []
        for idx in range(len(self.dataset)):
            info = self.dataset.get_data_info(idx)
            label = info.get('label')
            key = self._video_key(info)
            if not isinstance(label, (int, np.integer)):
                raise ValueError(
                    f'{key} ({self._line(idx)}) has label {label!r}; '
                    'EpisodicDataset needs one int label per video' +
                    self._where() + '.')
            if not 0 <= label < len(classes):
                raise ValueError(
                    f'{key} ({self._line(idx)}) has label {label}, which '
                    f'has no class name: the class-name list has '
                    f'{len(classes)} names' + self._where() + '.')
            first = keys.setdefault(key, idx)
            if first != idx:
                same = self.dataset.get_data_info(first)['label'] == label
                (duplicates if same else conflicts).append((key, first, idx))
                continue
            by_class[int(label)].append(idx)
        self._check_duplicates(duplicates, conflicts)
        self._check_class_counts(classes, by_class)
        self._class_indices = [
            np.asarray(by_class[c], dtype=np.int64)
            for c in range(len(classes))
        ]
        self._labels = np.full(len(self.dataset), -1, dtype=np.int64)
        video_ids = np.zeros(len(self.dataset), dtype=np.uint64)
        kept = np.concatenate(self._class_indices)
        names = {idx: key for key, idx in keys.items()}
        video_ids[kept] = stable_ids([names[i] for i in kept])
        self._class_ids = stable_ids(classes)
        _check_distinct(self._class_ids, 'class names')
        _check_distinct(video_ids[kept], 'video paths')
        longest = max(len(indices) for indices in self._class_indices)
        # Videos of each class (padded with -1 to the longest class) and
        # their stable ids, which key the episodes.
        self._class_table = np.full((len(classes), longest), -1, np.int64)
        self._id_table = np.zeros((len(classes), longest), np.uint64)
        for label, indices in enumerate(self._class_indices):
            self._labels[indices] = label
            self._class_table[label, :len(indices)] = indices
            self._id_table[label, :len(indices)] = video_ids[indices]
        if self.check_videos:
            self._check_videos_exist(kept)
        if self.episodes_file is not None:
            self._import_episodes(classes, keys)
        self._fully_initialized = True

    def _checked_classes(self) -> List[str]:
        classes = self.dataset.metainfo.get('classes')
        source = self._classes_source or 'the class-name list'
        if not classes:
            raise ValueError(
                'EpisodicDataset needs class names: give the wrapped '
                "dataset metainfo=dict(classes='path/to/classes.txt')" +
                self._where() + '.')
        if isinstance(classes, str):
            raise AnnotationError(f'Class-name file not found: {classes}')
        classes = [str(name) for name in classes]
        blank = [i + 1 for i, name in enumerate(classes) if not name.strip()]
        if blank:
            raise AnnotationError(f'{source}: blank class name on line(s) '
                                  f'{", ".join(map(str, blank[:10]))}.')
        lines = defaultdict(list)
        for i, name in enumerate(classes):
            lines[name].append(i + 1)
        repeated = [(name, at) for name, at in lines.items() if len(at) > 1]
        if repeated:
            raise AnnotationError(
                f'{source}: duplicate class names: ' +
                '; '.join(f'{name!r} on lines {", ".join(map(str, at))}'
                          for name, at in repeated[:10]) +
                '. Each class needs its own name (the text encoder sees it, '
                'and episodes are keyed on it).')
        return classes

    def _check_duplicates(self, duplicates: list, conflicts: list) -> None:
        ann = getattr(self.dataset, 'ann_file', None) or 'the dataset'

        def listing(pairs):
            shown = '; '.join(f'{key!r} on {self._line(a)} and {self._line(b)}'
                              for key, a, b in pairs[:10])
            more = f' (and {len(pairs) - 10} more)' if len(pairs) > 10 else ''
            return shown + more

        if conflicts:
            raise AnnotationError(
                f'{ann} lists {len(conflicts)} video(s) twice with different '
                f'labels: {listing(conflicts)}.')
        if duplicates and not self.deduplicate:
            raise AnnotationError(
                f'{ann} lists {len(duplicates)} video(s) more than once: '
                f'{listing(duplicates)}. A duplicate can be the support and '
                'the query of one episode; remove the lines, or set '
                'deduplicate=True to keep the first line of each.')
        self.num_duplicates = len(duplicates)
        if duplicates:
            print_log(
                f'deduplicate=True: ignored {len(duplicates)} duplicate '
                f'line(s) of {ann}: {listing(duplicates)}.',
                logger='current',
                level=logging.WARNING)

    def _check_class_counts(self, classes: List[str],
                            by_class: Dict[int, List[int]]) -> None:
        source = f' in {self._classes_source!r}' if self._classes_source \
            else ''
        if len(by_class) != len(classes):
            empty = [
                f'{i} {classes[i]!r}' for i in range(len(classes))
                if i not in by_class
            ]
            raise ValueError(
                f'The class-name list{source} has {len(classes)} names but '
                f'only {len(by_class)} classes have videos' + self._where() +
                f'; classes without videos: {", ".join(empty[:10])}.')
        if len(classes) < self.num_ways:
            raise ValueError(
                f'num_ways={self.num_ways} but the dataset has only '
                f'{len(classes)} classes' + self._where() + '.')
        need = self.num_shots + self.num_queries
        for label, indices in sorted(by_class.items()):
            if len(indices) < need:
                raise ValueError(
                    f'Class {classes[label]!r} (id {label}) has '
                    f'{len(indices)} videos, fewer than num_shots + '
                    f'num_queries = {self.num_shots} + {self.num_queries} = '
                    f'{need}' + self._where() + '.')

    def _check_videos_exist(self, indices: np.ndarray) -> None:
        missing = []
        for idx in indices:
            info = self.dataset.get_data_info(int(idx))
            path = info.get('filename', info.get('frame_dir'))
            if path is not None and not osp.exists(path):
                missing.append(f'{path} ({self._line(idx)})')
        if missing:
            shown = '\n  '.join(missing[:20])
            more = f'\n  ... and {len(missing) - 20} more' if len(
                missing) > 20 else ''
            raise FileNotFoundError(
                f'{len(missing)} of the {len(indices)} videos listed in '
                f'{getattr(self.dataset, "ann_file", "the dataset")} do not '
                f'exist:\n  {shown}{more}\nRemove them from the annotation '
                'file (tools/data/build_fsar_annotations.py lists only the '
                'videos it finds), or fix data_root.')

    def _import_episodes(self, classes: List[str], keys: Dict[str,
                                                              int]) -> None:
        """Map the episodes of ``episodes_file`` onto this dataset."""
        path = self.episodes_file
        records = read_episode_file(path)
        by_name = {name: c for c, name in enumerate(classes)}
        shape = (self.num_ways, self.num_ways * self.num_shots,
                 self.num_ways * self.num_queries)
        missing_classes, missing_videos, wrong = {}, {}, []
        rows = []
        for number, record in records:
            where = f'Episode file {path}, line {number}'
            names, support, query = (record[k] for k in EPISODE_KEYS)
            found = (len(names), len(support), len(query))
            if found != shape:
                raise EpisodeFileError(
                    f'{where}: {found[0]} classes, {found[1]} support and '
                    f'{found[2]} query videos, but the dataset asks for '
                    f'num_ways={self.num_ways}, num_shots={self.num_shots}, '
                    f'num_queries={self.num_queries} ({shape[0]} classes, '
                    f'{shape[1]} support and {shape[2]} query videos); set '
                    'them to match the file.')
            if len(set(names)) != len(names) or len(
                    set(support + query)) != len(support + query):
                raise EpisodeFileError(
                    f'{where}: a class or video appears twice in the '
                    'episode.')
            row = []
            slot_classes = [
                names[i // self.num_shots] for i in range(len(support))
            ]
            slot_classes += [
                names[i // self.num_queries] for i in range(len(query))
            ]
            for name in names:
                if name not in by_name:
                    missing_classes.setdefault(name, number)
                row.append(by_name.get(name, -1))
            for name, video in zip(slot_classes, support + query):
                idx = keys.get(video)
                if idx is None:
                    missing_videos.setdefault(video, number)
                elif name in by_name and self._labels[idx] != by_name[name]:
                    wrong.append(
                        f'{video!r} (line {number}: class {name!r}; '
                        f'{self._line(idx)} of the annotation file: class '
                        f'{classes[self._labels[idx]]!r})')
                row.append(-1 if idx is None else idx)
            rows.append(row)
        if missing_classes or missing_videos or wrong:
            raise EpisodeFileError(
                _missing_report(path, self._where(), missing_classes,
                                missing_videos, wrong, len(records)))
        table = np.asarray(rows, dtype=np.int64)
        n, nk = self.num_ways, self.num_ways * (1 + self.num_shots)
        self._imported = dict(
            class_ids=table[:, :n],
            support=table[:, n:nk],
            query=table[:, nk:])
        if self.num_episodes > len(rows):
            print_log(
                f'num_episodes={self.num_episodes}, but {path} holds '
                f'{len(rows)} episodes: evaluating those {len(rows)}.',
                logger='current')
        self.num_episodes = min(self.num_episodes, len(rows))

    def __len__(self) -> int:
        if self.episodes_file is not None:
            self.full_init()
        return self.num_episodes

    # ------------------------------------------------------------- episodes
    def get_episode(self, idx: int) -> dict:
        """The composition of episode ``idx``, without loading any video.

        Returns:
            dict: ``class_ids`` (N,) in episode-label order, ``support``
            (N*K,) and ``query`` (N*Q,) indices into the wrapped dataset,
            ``support_labels`` (N*K,) and ``query_labels`` (N*Q,).
        """
        return {k: v[0] for k, v in self.get_episodes([idx]).items()}

    def get_episodes(self, indices: Sequence[int]) -> Dict[str, np.ndarray]:
        """The compositions of episodes ``indices``, stacked.

        Episode ``i`` draws its N classes, in label order, as the N smallest
        of one random key per class, and the K+Q videos of each class as
        the K+Q smallest of one random key per video, the first K for
        support: uniformly random without replacement. The keys are
        :func:`hash_keys` of ``(episode_seed, i, ...)`` and of the stable
        id of each class name or video path (:func:`stable_ids`), so an
        episode depends on its index and on those names alone, and a batch
        of episodes costs a few array operations. Removing a video changes
        only the episodes that drew it. With ``episodes_file``, the file's
        episodes.

        Returns:
            dict[str, np.ndarray]: ``class_ids`` (E, N), ``support``
            (E, N*K), ``query`` (E, N*Q), ``support_labels`` (E, N*K) and
            ``query_labels`` (E, N*Q).
        """
        self.full_init()
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        bounded = self.test_mode or self._imported is not None
        bad = idx[(idx < 0) | (idx >= self.num_episodes if bounded else False)]
        if bad.size:
            source = f' of {self.episodes_file}' if self._imported else ''
            raise IndexError(f'episode {int(bad[0])} out of range '
                             f'[0, {self.num_episodes}){source}.')
        num, num_ways = len(idx), self.num_ways
        labels = np.arange(num_ways)
        out = dict(
            support_labels=np.tile(
                np.repeat(labels, self.num_shots), (num, 1)),
            query_labels=np.tile(
                np.repeat(labels, self.num_queries), (num, 1)))
        if self._imported is not None:
            out.update({k: v[idx] for k, v in self._imported.items()})
            return out
        need = self.num_shots + self.num_queries
        table, ids = self._class_table, self._id_table
        # Bound the (E, N, longest) key arrays to about 32 MiB.
        chunk = max(1, (1 << 22) // (num_ways * table.shape[1]))
        class_ids, videos = [], []
        for start in range(0, num, chunk):
            part = idx[start:start + chunk, None]
            keys = hash_keys(self.episode_seed, part, 0, self._class_ids)
            chosen = np.argsort(keys, axis=1, kind='stable')[:, :num_ways]
            candidates = table[chosen]
            keys = hash_keys(self.episode_seed, part[..., None], 1,
                             ids[chosen])
            keys[candidates < 0] = np.iinfo(np.uint64).max
            if table.shape[1] > need:
                pick = np.argpartition(keys, need - 1, axis=-1)[..., :need]
                order = np.argsort(
                    np.take_along_axis(keys, pick, -1), axis=-1, kind='stable')
                pick = np.take_along_axis(pick, order, -1)
            else:
                pick = np.argsort(keys, axis=-1, kind='stable')
            class_ids.append(chosen)
            videos.append(np.take_along_axis(candidates, pick, -1))
        videos = np.concatenate(videos) if videos else np.empty(
            (0, num_ways, need), np.int64)
        out.update(
            class_ids=np.concatenate(class_ids) if class_ids else np.empty(
                (0, num_ways), np.int64),
            support=videos[..., :self.num_shots].reshape(num, -1),
            query=videos[..., self.num_shots:].reshape(num, -1))
        return out

    def video_labels(self, data_indices: Sequence[int]) -> np.ndarray:
        """Class ids of videos of the wrapped dataset."""
        self.full_init()
        return self._labels[np.asarray(data_indices, dtype=np.int64)]

    def video_name(self, data_idx: int) -> str:
        """File name (or frame dir) of a video of the wrapped dataset."""
        info = self.dataset.get_data_info(int(data_idx))
        return str(info.get('filename', info.get('frame_dir', data_idx)))

    def load_video(self,
                   data_idx: int,
                   is_query: bool = False,
                   context: str = '') -> dict:
        """Run one video of the wrapped dataset through its pipeline.

        Raises:
            VideoLoadError: naming the file (and ``context``) when the
                video is missing or cannot be decoded.
        """
        info = self.dataset.get_data_info(int(data_idx))
        pipeline = self.query_pipeline if (
            is_query and self.query_pipeline is not None) else self.pipeline
        name = self.video_name(data_idx)
        if 'filename' in info and not osp.exists(info['filename']):
            raise VideoLoadError(f'Video file not found: {name}{context}.')
        try:
            packed = pipeline(info)
        except Exception as err:
            raise VideoLoadError(f'Failed to load video {name}{context}: '
                                 f'{type(err).__name__}: {err}') from err
        if packed is None:
            raise VideoLoadError(
                f'The pipeline returned None for video {name}{context}.')
        return packed

    def _load_slot(self, episode_idx: int, slot: int, data_idx: int,
                   class_id: int, is_query: bool, used: set) -> tuple:
        """Load one video of an episode; returns (packed, video index)."""
        role = 'query' if is_query else 'support'
        context = (f' (episode {episode_idx}, {role} video of class '
                   f'{self.class_names[class_id]!r})')
        attempt = 0
        while True:
            try:
                if self.test_mode:
                    packed = self.load_video(data_idx, is_query, context)
                else:
                    with local_seed(self.episode_seed, episode_idx, slot,
                                    attempt):
                        packed = self.load_video(data_idx, is_query, context)
                return packed, data_idx
            except VideoLoadError as err:
                if not self.replace_bad_videos:
                    raise
                candidates = [
                    i for i in self._class_indices[class_id] if i not in used
                ]
                if not candidates:
                    raise VideoLoadError(
                        f'{err}; no other video of the class is left to '
                        'replace it.') from err
                attempt += 1
                rng = np.random.default_rng(
                    [self.episode_seed, episode_idx, slot, attempt])
                data_idx = int(rng.choice(candidates))
                used.add(data_idx)
                self.num_replaced += 1
                print_log(
                    f'{err} Replaced by {self.video_name(data_idx)} '
                    f'(replace_bad_videos=True; {self.num_replaced} '
                    'replaced so far in this worker).',
                    logger='current',
                    level=30)

    def __getitem__(self, idx: int) -> List[dict]:
        """All videos of episode ``idx``: support then query, packed."""
        episode = self.get_episode(idx)
        used = set(episode['support'].tolist() + episode['query'].tolist())
        items = [
            (d, lbl, False)
            for d, lbl in zip(episode['support'], episode['support_labels'])
        ]
        items += [(d, lbl, True)
                  for d, lbl in zip(episode['query'], episode['query_labels'])]
        out = []
        for slot, (data_idx, label, is_query) in enumerate(items):
            class_id = int(episode['class_ids'][label])
            packed, data_idx = self._load_slot(idx, slot, int(data_idx),
                                               class_id, is_query, used)
            sample = packed['data_samples']
            sample.set_gt_label(int(label))
            sample.set_metainfo(
                dict(
                    episode_idx=int(idx),
                    is_query=is_query,
                    class_id=class_id,
                    num_ways=self.num_ways,
                    data_idx=int(data_idx)))
            out.append(packed)
        return out

    def episode_videos(self, indices: Sequence[int]) -> np.ndarray:
        """Sorted distinct wrapped-dataset indices used by ``indices``."""
        return first_use(indices, self.get_episodes(indices))[0]
