# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmaction.registry import LOOPS
from mmengine.dataset import DefaultSampler
from mmengine.dist import all_gather, all_gather_object, get_dist_info
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.runner import BaseLoop, autocast
from torch.utils.data import DataLoader, Dataset

from mmfsar.datasets.collate import stacked_in_transit
from mmfsar.datasets.episodic_dataset import (EpisodicDataset, first_use,
                                              local_seed)
from mmfsar.evaluation.metrics.few_shot_accuracy import (
    check_finite_logits, query_samples_to_records)
from ..hooks.class_names_hook import ensure_class_names_hook
from ..rng import preserved_rng
from .episodic_train_loop import unwrap_model
from .few_shot_runner import resolve_loop_dataloader

# Token key under which the cached loop carries each video's mean frame
# feature for the text-only baseline (removed before the head sees tokens).
_MEAN_FEATS = '_mean_feats'


class _Progress:
    """Logs ``done/total``, rate and time left at most every few seconds."""

    def __init__(self, what: str, total: int, interval: float = 10.) -> None:
        self.what, self.total, self.interval = what, total, interval
        self.start = self.last = time.time()

    def update(self, done: int) -> None:
        now = time.time()
        if now - self.last < self.interval and done < self.total:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        left = (self.total - done) / rate if rate > 0 else float('inf')
        print_log(
            f'{self.what}: {done}/{self.total} ({rate:.1f}/s, '
            f'{left:.0f} s left)',
            logger='current')


class _VideoSubset(Dataset):
    """Some videos of an episodic dataset's wrapped dataset, one item each."""

    def __init__(self, dataset: EpisodicDataset, indices: Sequence[int],
                 first_episode: Sequence[int], fixed_view: bool) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.first_episode = [int(i) for i in first_episode]
        self.fixed_view = fixed_view

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        idx = self.indices[i]
        context = f' (used first by episode {self.first_episode[i]})'
        if self.fixed_view:
            with local_seed(self.dataset.episode_seed, idx):
                return self.dataset.load_video(idx, context=context)
        return self.dataset.load_video(idx, context=context)


def _encoding_collate(batch: Sequence[dict]) -> dict:
    """The inputs of videos to encode, one stacked tensor in transit from a
    dataloader worker, without their data samples: a worker hands every
    tensor (a label is one) to the main process through its own file
    descriptor, about 1 ms each."""
    return dict(
        inputs=stacked_in_transit([item['inputs'] for item in batch]),
        data_samples=None)


def _float(value: torch.Tensor) -> torch.Tensor:
    return value.float() if value.is_floating_point() else value


def _concat(parts: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    """Concatenate dicts of per-video rows key by key."""
    return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


def _gather_rows(local: Optional[Dict[str, torch.Tensor]], indices: Sequence,
                 total: int, device: torch.device) -> Dict[str, torch.Tensor]:
    """Gather the per-video rows that each rank computed for its share
    ``indices`` (disjoint across ranks, ``total`` in all) to every rank, in
    index order. A rank with no videos (more ranks than videos) takes the
    row shapes from the others."""
    rank, world_size = get_dist_info()
    if world_size == 1:
        return local
    specs = all_gather_object(None if local is None else {
        key: (tuple(value.shape[1:]), value.dtype)
        for key, value in local.items()
    })
    spec = next(s for s in specs if s is not None)
    per_rank = -(-total // world_size)
    index = torch.full((per_rank, ), -1, dtype=torch.long, device=device)
    index[:len(indices)] = torch.as_tensor(
        np.asarray(indices, dtype=np.int64), device=device)
    all_index = torch.cat(all_gather(index))
    keep = all_index >= 0
    order = torch.argsort(all_index[keep])
    out = {}
    for key, (shape, dtype) in spec.items():
        padded = torch.zeros((per_rank, *shape), dtype=dtype, device=device)
        if local is not None:
            padded[:len(indices)] = local[key].to(device)
        out[key] = torch.cat(all_gather(padded))[keep][order]
    return out


def _reverse_query_frames(data_batch: dict) -> dict:
    """A copy of an episode batch with each query's frames reversed."""
    inputs = [
        x.flip(0) if sample.metainfo['is_query'] else x
        for x, sample in zip(data_batch['inputs'], data_batch['data_samples'])
    ]
    return dict(data_batch, inputs=inputs)


@LOOPS.register_module()
class EpisodicTestLoop(BaseLoop):
    """Few-shot evaluation over the fixed episodes of a split.

    Use it as ``test_cfg`` and as ``val_cfg``; it calls the hooks of the
    stage it runs in.

    With ``cache_features=True`` (default) every distinct video of the
    episodes is decoded and encoded once: the videos are sharded over ranks,
    and the (index, per-frame feature) pairs are gathered to every rank.
    Then each rank runs the head (prototype modulation + OTAM) on its share
    of the episodes from the cached features, and the metric collects one
    result per episode. With ``cache_features=False`` every episode goes
    end to end through the model, as in the released code; the two give the
    same predictions when the test pipeline is deterministic.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Loader of an ``EpisodicDataset``.
        evaluator (Evaluator | dict | list): E.g. ``FewShotAccuracy``.
        cache_features (bool): Encode each video once. Defaults to True.
        fixed_view (bool): With a random test pipeline, let the cached loop
            encode one fixed random view per video (the uncached loop would
            draw a new view for every episode). Defaults to False: refuse.
        video_batch_size (int, optional): Videos per backbone batch when
            caching. Defaults to the dataloader's batch size times the
            episode size.
        episode_batch_size (int): Episodes per head batch when caching.
            Defaults to 1024.
        fp16 (bool): Run under autocast. Defaults to False.
        reverse_queries (bool): A diagnostic: evaluate with every query
            video's frames in reverse order. A model that uses temporal
            order scores clearly lower. Defaults to False.
        text_baseline (bool): Also classify every query by its text alone,
            on the same episodes and features: the cosine of its mean frame
            feature with the text features of the episode's class names
            (``FewShotRecognizer.text_logits``: CLIP zero-shot with the
            text tower's prompt, no support video). The metric then reports
            ``text_accuracy`` and ``text_ci95`` beside ``accuracy``. Needs a
            model with a text tower. Defaults to False.

    Per-episode records (``FewShotAccuracy(out_file=...)``, ``tools/test.py
    --dump``) carry the softmax scores and the paths of the support and
    query videos, relative to the wrapped dataset's data prefix.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 cache_features: bool = True,
                 fixed_view: bool = False,
                 video_batch_size: int = None,
                 episode_batch_size: int = 1024,
                 fp16: bool = False,
                 reverse_queries: bool = False,
                 text_baseline: bool = False) -> None:
        super().__init__(runner, resolve_loop_dataloader(runner, dataloader))
        ensure_class_names_hook(runner)
        if isinstance(evaluator, (dict, list)):
            self.evaluator = runner.build_evaluator(evaluator)
        else:
            self.evaluator = evaluator
        dataset = self.dataloader.dataset
        if not isinstance(dataset, EpisodicDataset):
            raise TypeError('EpisodicTestLoop needs an EpisodicDataset, got '
                            f'{type(dataset).__name__}.')
        self.evaluator.dataset_meta = dataset.metainfo
        self.cache_features = cache_features
        self.fixed_view = fixed_view
        episode_size = dataset.num_ways * (
            dataset.num_shots + dataset.num_queries)
        self.video_batch_size = video_batch_size or max(
            1, self.dataloader.batch_size) * episode_size
        self.episode_batch_size = episode_batch_size
        self.fp16 = fp16
        self.reverse_queries = reverse_queries
        self.text_baseline = text_baseline
        self._paths: Dict[int, str] = {}

    @property
    def stage(self) -> str:
        """``'val'`` when the runner uses this loop for validation."""
        return 'val' if getattr(self.runner, '_val_loop',
                                None) is self else 'test'

    def run(self) -> dict:
        """Evaluate every episode and return the metrics."""
        stage = self.stage
        self.runner.call_hook(f'before_{stage}')
        self.runner.call_hook(f'before_{stage}_epoch')
        self.runner.model.eval()
        dataset = self.dataloader.dataset
        model = unwrap_model(self.runner.model)
        if hasattr(model, 'class_names'):
            # Set by ClassNamesHook in before_val / before_test; fail here,
            # before any video is decoded, if it is missing.
            model.class_names('eval')
        if self.text_baseline and not getattr(model, 'with_text', False):
            raise ValueError(
                'test_cfg.text_baseline=True classifies queries by class '
                f'text, but the model ({type(model).__name__}) has no text '
                'tower (model.text_encoder).')
        # Evaluation must not change what training draws next.
        with torch.no_grad(), preserved_rng():
            if self.cache_features:
                self._run_cached(model, dataset)
            else:
                self._run_full(stage, model, dataset)
        metrics = self.evaluator.evaluate(len(dataset))
        self.runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{stage}')
        return metrics

    # ---------------------------------------------------------- reference
    def _run_full(self, stage: str, model, dataset: EpisodicDataset) -> None:
        progress = _Progress('Episodes (end to end)', len(self.dataloader))
        for idx, data_batch in enumerate(self.dataloader):
            self.runner.call_hook(
                f'before_{stage}_iter', batch_idx=idx, data_batch=data_batch)
            if self.reverse_queries:
                data_batch = _reverse_query_frames(data_batch)
            with autocast(enabled=self.fp16):
                outputs = self.runner.model.test_step(data_batch)
            records = self._full_records(model, dataset, data_batch, outputs)
            self.evaluator.process(data_samples=records, data_batch=None)
            self.runner.call_hook(
                f'after_{stage}_iter',
                batch_idx=idx,
                data_batch=data_batch,
                outputs=outputs)
            progress.update(idx + 1)

    def _full_records(self, model, dataset: EpisodicDataset, data_batch: dict,
                      outputs: list) -> List[dict]:
        """Episode records of an end-to-end batch, with the video paths
        and, with ``text_baseline``, the text-only scores."""
        records = query_samples_to_records(outputs)
        support: Dict[int, List[int]] = {}
        for sample in data_batch['data_samples']:
            if not sample.metainfo['is_query']:
                support.setdefault(sample.metainfo['episode_idx'],
                                   []).append(sample.metainfo['data_idx'])
        for record in records:
            record['support_paths'] = self._video_paths(
                dataset, support[record['episode_idx']])
            record['query_paths'] = self._video_paths(dataset,
                                                      record['query_data_idx'])
        if self.text_baseline:
            # The end-to-end path encodes the batch a second time here.
            data = model.data_preprocessor(data_batch, False)
            with autocast(enabled=self.fp16):
                feats = model.extract_feat(data['inputs'])
            mean = feats.float().mean(dim=1)
            is_query = [
                s.metainfo['is_query'] for s in data_batch['data_samples']
            ]
            query_mean = mean[torch.as_tensor(is_query, device=mean.device)]
            names, start = model.class_names('eval'), 0
            for record in records:
                count = len(record['labels'])
                self._set_text_baseline(
                    record,
                    model.text_logits(query_mean[start:start + count],
                                      [names[c] for c in record['class_ids']]))
                start += count
        return records

    @staticmethod
    def _set_text_baseline(record: dict, logits: torch.Tensor) -> None:
        """Text-only scores and predictions of an episode's queries from
        their text logits (N*Q, N)."""
        record['text_scores'] = logits.float().softmax(dim=-1).cpu().numpy()
        record['text_preds'] = logits.argmax(dim=-1).cpu().numpy()

    def _video_paths(self, dataset: EpisodicDataset,
                     indices: Sequence[int]) -> List[str]:
        """Paths of videos of the wrapped dataset, relative to its data
        prefix (looked up once per video)."""
        out = []
        for idx in indices:
            idx = int(idx)
            if idx not in self._paths:
                name = dataset.video_name(idx)
                prefix = (getattr(dataset.dataset, 'data_prefix', None)
                          or {}).get('video')
                if prefix and osp.abspath(name).startswith(
                        osp.join(osp.abspath(prefix), '')):
                    name = osp.relpath(name, prefix)
                self._paths[idx] = name
            out.append(self._paths[idx])
        return out

    # ------------------------------------------------------------- cached
    def _check_pipeline(self, dataset: EpisodicDataset) -> None:
        random_names = dataset.random_transforms()
        if not random_names:
            return
        if not self.fixed_view:
            raise ValueError(
                'The evaluation pipeline is random, or not known to be '
                f'deterministic ({", ".join(random_names)}), so caching one '
                'feature per video could '
                'differ from end-to-end evaluation. Use a deterministic test '
                'pipeline (FewShotSampleFrames with test_mode=True, '
                'CenterCrop), declare your own deterministic transforms '
                'with dataset.deterministic_transforms=[names], or set '
                'cache_features=False '
                'to draw new views per episode as the released code does, '
                'or set fixed_view=True to encode one fixed random view per '
                'video.')
        print_log(
            'fixed_view=True: the evaluation pipeline is random; each video '
            'is encoded once with one fixed random view (seeded by '
            'episode_seed and the video index), which every episode reuses.',
            logger='current',
            level=30)

    def _encode_videos(self, model, dataset: EpisodicDataset,
                       videos: np.ndarray,
                       first_episode: np.ndarray) -> Dict[str, torch.Tensor]:
        """The head's per-video tokens of ``videos``, in their order.

        Each rank decodes and encodes its share of the videos, runs the
        head's per-video work on each batch, and the tokens are gathered to
        every rank. With ``reverse_queries`` the tokens of the videos with
        their frames reversed follow, one row per video, after the tokens
        of all ``videos``.
        """
        rank, world_size = get_dist_info()
        mine = videos[rank::world_size]
        loader = DataLoader(
            _VideoSubset(dataset, mine, first_episode[rank::world_size],
                         self.fixed_view),
            batch_size=self.video_batch_size,
            num_workers=self.dataloader.num_workers,
            collate_fn=_encoding_collate,
            shuffle=False)
        progress = _Progress(
            f'Encoding videos (rank {rank}, {world_size} ranks)', len(mine))
        parts, done = [], 0
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            class_ids = torch.as_tensor(
                dataset.video_labels(mine[done:done + len(batch['inputs'])]))
            with autocast(enabled=self.fp16):
                feats = model(**data, mode='tensor')
                tokens = [model.video_tokens(feats, class_ids, 'eval')]
                if self.reverse_queries:
                    # Frames are encoded independently, so reversing the
                    # features reverses the frames.
                    tokens.append(
                        model.video_tokens(feats.flip(1), class_ids, 'eval'))
            if self.text_baseline:
                for view in tokens:
                    view[_MEAN_FEATS] = feats.float().mean(dim=1)
            parts.append([{
                k: _float(v)
                for k, v in t.items()
            } for t in tokens])
            done += len(batch['inputs'])
            progress.update(done)
        views = []
        for view in range(1 + self.reverse_queries):
            local = _concat([p[view] for p in parts]) if parts else None
            views.append(
                _gather_rows(local, mine, len(videos),
                             next(model.parameters()).device))
        return _concat(views)

    def _episode_logits(self, model, dataset: EpisodicDataset,
                        episodes: Dict[str, np.ndarray], indices: np.ndarray,
                        videos: np.ndarray,
                        tokens: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits (E, N*Q, N) of episodes from the per-video tokens."""
        device = next(iter(tokens.values())).device

        def positions(key):
            return torch.as_tensor(
                np.searchsorted(videos, episodes[key]), device=device)

        query = positions('query')
        if self.reverse_queries:
            query = query + len(videos)
        with autocast(enabled=self.fp16):
            logits = model.episode_logits_from_tokens(
                tokens, positions('support'),
                torch.as_tensor(episodes['support_labels'], device=device),
                query, dataset.num_ways)
        check_finite_logits(logits, indices)
        return logits

    @staticmethod
    def _episode_records(indices: Sequence[int],
                         episodes: Dict[str, np.ndarray], logits: torch.Tensor,
                         paths: np.ndarray) -> List[dict]:
        """One record per episode for ``FewShotAccuracy``: cheaper than a
        data sample per query, which matters over 10,000 episodes.
        ``paths`` maps each wrapped-dataset index to its video path."""
        class_ids, labels = episodes['class_ids'], episodes['query_labels']
        query_class_ids = np.take_along_axis(class_ids, labels, 1)
        scores = logits.float().softmax(dim=-1).cpu().numpy()
        preds = logits.argmax(dim=-1).cpu().numpy()
        return [
            dict(
                episode_idx=int(i),
                class_ids=c,
                query_class_ids=q,
                labels=lbl,
                preds=p,
                scores=score,
                support_paths=paths[s],
                query_paths=paths[qv]) for i, c, q, lbl, p, score, s, qv in
            zip(indices, class_ids, query_class_ids, labels, preds, scores,
                episodes['support'], episodes['query'])
        ]

    def _run_cached(self, model, dataset: EpisodicDataset) -> None:
        self._check_pipeline(dataset)
        # Shard episodes exactly like DefaultSampler, so that the metric's
        # collection restores their order and drops the padding.
        mine = np.asarray(
            list(DefaultSampler(dataset, shuffle=False)), dtype=np.int64)
        everything = np.arange(len(dataset))
        all_episodes = dataset.get_episodes(everything)
        videos, first_episode = first_use(everything, all_episodes)
        print_log(
            f'Cached evaluation: {len(dataset)} episodes use '
            f'{len(videos)} distinct videos.',
            logger='current')
        tokens = self._encode_videos(model, dataset, videos, first_episode)
        paths = np.empty(len(dataset.dataset), dtype=object)
        paths[videos] = self._video_paths(dataset, videos)
        text_logits = None
        if self.text_baseline:
            # Every video against every class of the split, once: a
            # cosine per (video, class) pair, whatever the episode.
            mean_feats = tokens.pop(_MEAN_FEATS)[:len(videos)]
            text_logits = model.text_logits(mean_feats,
                                            model.class_names('eval'))

        progress = _Progress('Episodes (cached features)', len(mine))
        for start in range(0, len(mine), self.episode_batch_size):
            chunk = mine[start:start + self.episode_batch_size]
            episodes = {k: v[chunk] for k, v in all_episodes.items()}
            logits = self._episode_logits(model, dataset, episodes, chunk,
                                          videos, tokens)
            records = self._episode_records(chunk, episodes, logits, paths)
            if text_logits is not None:
                rows = torch.as_tensor(
                    np.searchsorted(videos, episodes['query']))
                cols = torch.as_tensor(episodes['class_ids'])
                chunk_text = text_logits[rows[:, :,
                                              None].to(text_logits.device),
                                         cols[:,
                                              None, :].to(text_logits.device)]
                for record, episode_text in zip(records, chunk_text):
                    self._set_text_baseline(record, episode_text)
            self.evaluator.process(data_samples=records, data_batch=None)
            progress.update(min(start + self.episode_batch_size, len(mine)))
