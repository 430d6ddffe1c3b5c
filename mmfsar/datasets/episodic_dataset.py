# Copyright (c) mmfsar contributors. All rights reserved.
import copy
import os.path as osp
import random
from collections import defaultdict
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmaction.registry import DATASETS
from mmengine.dataset import BaseDataset, Compose
from mmengine.logging import print_log

# Transforms that draw random numbers even in a test pipeline.
RANDOM_TRANSFORMS = ('RandomCrop', 'RandomResizedCrop', 'MultiScaleCrop',
                     'Flip', 'ColorJitter', 'VideoColorJitter',
                     'RandomErasing', 'RandomRescale', 'PytorchVideoWrapper',
                     'ImgAug')


def is_random_pipeline(pipeline: Compose) -> bool:
    """Whether a pipeline can give a different view of a video each call."""
    for transform in pipeline.transforms:
        name = type(transform).__name__
        if name in RANDOM_TRANSFORMS:
            if name == 'Flip' and getattr(transform, 'flip_ratio', 1) == 0:
                continue
            return True
        if getattr(transform, 'test_mode', True) is False:
            return True
    return False


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
    """
    key = np.zeros((), dtype=np.uint64)
    with np.errstate(over='ignore'):
        for part in parts:
            x = key ^ (
                np.asarray(part, dtype=np.int64).astype(np.uint64) + _GOLDEN)
            x = (x ^ (x >> np.uint64(30))) * _MIX1
            x = (x ^ (x >> np.uint64(27))) * _MIX2
            key = x ^ (x >> np.uint64(31))
    return np.asarray(key)


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


@DATASETS.register_module()
class EpisodicDataset:
    """Turn any labelled MMAction2 dataset into N-way K-shot episodes.

    Index ``i`` is episode ``i``: N classes and K+Q distinct videos of each,
    support videos first, then queries, both in class order. The episode is
    a pure function of ``(episode_seed, i)`` (and so is the randomness of a
    training pipeline), never of global random state: every run, every
    number of workers and every process count sees the same episode ``i``.
    Validation and test episodes are therefore fixed by ``episode_seed``;
    training episodes differ from index to index, and ``EpisodeSampler``
    gives each rank its own indices.

    Each video goes through the wrapped dataset's own pipeline (or
    ``query_pipeline`` for queries). Its packed data sample carries the
    episode label 0..N-1 as ``gt_label`` and, in metainfo, ``episode_idx``,
    ``is_query``, ``class_id`` (the label in the wrapped dataset, which
    indexes its ``classes``), ``num_ways`` and ``data_idx``.

    Args:
        dataset (dict | BaseDataset): The wrapped dataset. It must have
            labels and ``metainfo['classes']`` (e.g. a ``VideoDataset`` with
            ``metainfo=dict(classes='classes.txt')``).
        num_ways (int): N. Defaults to 5.
        num_shots (int): K. Defaults to 1.
        num_queries (int): Q, queries per class. Defaults to 1.
        num_episodes (int): Length of the dataset. Defaults to 10000.
        episode_seed (int): Seed of the episodes. Defaults to 0.
        query_pipeline (list[dict], optional): A different pipeline for
            query videos (Kinetics-100 query augmentation). Defaults to None.
        replace_bad_videos (bool): In training only, replace a video that
            fails to load by another video of the same class, with a
            warning. Defaults to False: the error stops the run.
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
                 lazy_init: bool = False) -> None:
        self._classes_source = None
        if isinstance(dataset, dict):
            classes = dataset.get('metainfo', {}).get('classes')
            if isinstance(classes, str):
                self._classes_source = classes
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
        self.query_pipeline = Compose(
            query_pipeline) if query_pipeline is not None else None
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

    def _where(self) -> str:
        ann = getattr(self.dataset, 'ann_file', None)
        return f' (ann_file={ann!r})' if ann else ''

    def full_init(self) -> None:
        """Index the videos of every class and validate the episode shape.

        Raises:
            ValueError: On missing class names, a label without a name, a
                class-name list that does not match the labels, fewer than
                ``num_ways`` classes, or a class with fewer than
                ``num_shots + num_queries`` videos.
        """
        if self._fully_initialized:
            return
        self.dataset.full_init()
        classes = self.dataset.metainfo.get('classes')
        if not classes:
            raise ValueError(
                'EpisodicDataset needs class names: give the wrapped '
                "dataset metainfo=dict(classes='path/to/classes.txt')" +
                self._where() + '.')
        by_class: Dict[int, List[int]] = defaultdict(list)
        for idx in range(len(self.dataset)):
            info = self.dataset.get_data_info(idx)
            label = info.get('label')
            if not isinstance(label, (int, np.integer)):
                raise ValueError(
                    f'{info.get("filename", idx)} has label {label!r}; '
                    'EpisodicDataset needs one int label per video' +
                    self._where() + '.')
            if not 0 <= label < len(classes):
                raise ValueError(
                    f'{info.get("filename", idx)} has label {label}, which '
                    f'has no class name: the class-name list has '
                    f'{len(classes)} names' + self._where() + '.')
            by_class[int(label)].append(idx)
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
        self._class_indices = [
            np.asarray(by_class[c], dtype=np.int64)
            for c in range(len(classes))
        ]
        self._labels = np.empty(len(self.dataset), dtype=np.int64)
        longest = max(len(indices) for indices in self._class_indices)
        # Videos of each class, padded with -1 to the longest class.
        self._class_table = np.full((len(classes), longest), -1, np.int64)
        for label, indices in enumerate(self._class_indices):
            self._labels[indices] = label
            self._class_table[label, :len(indices)] = indices
        self._fully_initialized = True

    def __len__(self) -> int:
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
        :func:`hash_keys` of ``(episode_seed, i, ...)``, so an episode
        depends on its index alone, and a batch of episodes costs a few
        array operations.

        Returns:
            dict[str, np.ndarray]: ``class_ids`` (E, N), ``support``
            (E, N*K), ``query`` (E, N*Q), ``support_labels`` (E, N*K) and
            ``query_labels`` (E, N*Q).
        """
        self.full_init()
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        bad = idx[(idx < 0) |
                  (idx >= self.num_episodes if self.test_mode else False)]
        if bad.size:
            raise IndexError(f'episode {int(bad[0])} out of range '
                             f'[0, {self.num_episodes}).')
        num_ways, need = self.num_ways, self.num_shots + self.num_queries
        table = self._class_table
        # Bound the (E, N, longest) key arrays to about 32 MiB.
        chunk = max(1, (1 << 22) // (num_ways * table.shape[1]))
        class_ids, videos = [], []
        for start in range(0, len(idx), chunk):
            part = idx[start:start + chunk, None]
            keys = hash_keys(self.episode_seed, part, 0, np.arange(len(table)))
            ids = np.argsort(keys, axis=1, kind='stable')[:, :num_ways]
            candidates = table[ids]
            keys = hash_keys(self.episode_seed, part[..., None], 1, candidates)
            keys[candidates < 0] = np.iinfo(np.uint64).max
            if table.shape[1] > need:
                pick = np.argpartition(keys, need - 1, axis=-1)[..., :need]
                order = np.argsort(
                    np.take_along_axis(keys, pick, -1), axis=-1, kind='stable')
                pick = np.take_along_axis(pick, order, -1)
            else:
                pick = np.argsort(keys, axis=-1, kind='stable')
            class_ids.append(ids)
            videos.append(np.take_along_axis(candidates, pick, -1))
        num = len(idx)
        videos = np.concatenate(videos) if videos else np.empty(
            (0, num_ways, need), np.int64)
        labels = np.arange(num_ways)
        return dict(
            class_ids=np.concatenate(class_ids) if class_ids else np.empty(
                (0, num_ways), np.int64),
            support=videos[..., :self.num_shots].reshape(num, -1),
            query=videos[..., self.num_shots:].reshape(num, -1),
            support_labels=np.tile(
                np.repeat(labels, self.num_shots), (num, 1)),
            query_labels=np.tile(
                np.repeat(labels, self.num_queries), (num, 1)))

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
