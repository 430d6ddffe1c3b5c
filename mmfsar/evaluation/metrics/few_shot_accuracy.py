# Copyright (c) mmfsar contributors. All rights reserved.
import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump
from mmengine.logging import MMLogger


def _meta(sample: dict, key: str):
    if key in sample:
        return sample[key]
    return sample.get('metainfo', {}).get(key)


def _scalar(value) -> int:
    if hasattr(value, 'item'):
        return int(value.item())
    if isinstance(value, (list, tuple)):
        return int(value[0])
    return int(value)


# Per-episode values a record may carry besides the predictions, for the
# dump: the softmax scores, the videos, and the text-only baseline.
_OPTIONAL_KEYS = dict(
    scores=np.float32,
    support_paths=object,
    query_paths=object,
    text_preds=np.int64,
    text_scores=np.float32)


@METRICS.register_module()
class FewShotAccuracy(BaseMetric):
    """Accuracy over few-shot episodes with a 95% confidence interval.

    ``process`` appends exactly one result per episode, in the order the
    episodes arrive, which is what lets mmengine's distributed collection
    restore the order and drop the sampler's padding. Results:

    - ``accuracy``: mean of the per-episode accuracies, in %;
    - ``ci95``: ``1.96 * std / sqrt(E)`` of those accuracies (ddof 0, as in
      mmfewshot and the few-shot literature), in %;
    - ``num_episodes``: E;
    - ``class_acc/<name>``: accuracy of the queries of each class, in %
      (when ``per_class=True``);
    - ``text_accuracy`` and ``text_ci95``: the same for the text-only
      (zero-shot) predictions, when the episodes carry them
      (``EpisodicTestLoop(text_baseline=True)``).

    Args:
        per_class (bool): Report per-class accuracy. Defaults to True.
        out_file (str, optional): Write one JSON line per episode there:
            index, class ids and names, labels, predictions, softmax scores,
            accuracy and, when the loop provides them, the video paths of
            the support and query videos (relative to the dataset's data
            prefix) and the text-only scores and predictions. Defaults to
            None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'fewshot'``.
    """
    default_prefix: Optional[str] = 'fewshot'

    def __init__(self,
                 per_class: bool = True,
                 out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.per_class = per_class
        self.out_file = out_file

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Append one result per episode.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Either query samples (the
                recognizer's ``predict`` mode) with ``pred_score``,
                ``gt_label`` and metainfo ``episode_idx`` and ``class_id``,
                whole episodes one after another; or episode records (the
                cached ``EpisodicTestLoop``) with ``episode_idx``,
                ``class_ids``, ``query_class_ids``, ``labels`` and
                ``preds``, and optionally ``scores`` (N*Q, N),
                ``support_paths``, ``query_paths``, ``text_preds`` and
                ``text_scores``.
        """
        if data_samples and 'preds' in data_samples[0]:
            records = data_samples
        else:
            records = query_samples_to_records(data_samples)
        for record in records:
            labels = np.asarray(record['labels'], dtype=np.int64)
            preds = np.asarray(record['preds'], dtype=np.int64)
            # NumPy arrays: mmengine's result collection copies nested
            # lists element by element, which costs seconds at 10,000
            # episodes.
            result = dict(
                episode_idx=int(record['episode_idx']),
                class_ids=np.asarray(record['class_ids'], np.int64),
                query_class_ids=np.asarray(record['query_class_ids'],
                                           np.int64),
                labels=labels,
                preds=preds,
                accuracy=float((labels == preds).mean()) * 100)
            for key, dtype in _OPTIONAL_KEYS.items():
                if record.get(key) is not None:
                    result[key] = np.asarray(record[key], dtype)
            if 'text_preds' in result:
                result['text_accuracy'] = float(
                    (labels == result['text_preds']).mean()) * 100
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        """Mean accuracy, CI and per-class accuracy over the episodes."""
        names = (self.dataset_meta or {}).get('classes')
        accs = np.array([r['accuracy'] for r in results], dtype=np.float64)
        metrics = OrderedDict(
            accuracy=float(accs.mean()),
            ci95=float(1.96 * accs.std() / math.sqrt(len(accs))),
            num_episodes=len(accs))
        if results and all('text_accuracy' in r for r in results):
            text = np.array([r['text_accuracy'] for r in results])
            metrics['text_accuracy'] = float(text.mean())
            metrics['text_ci95'] = float(1.96 * text.std() /
                                         math.sqrt(len(text)))
        if self.per_class:
            query_class_ids = np.concatenate(
                [r['query_class_ids'] for r in results])
            correct = np.concatenate(
                [r['labels'] == r['preds'] for r in results])
            counts = np.bincount(query_class_ids)
            hits = np.bincount(query_class_ids, weights=correct)
            for cid in np.flatnonzero(counts):
                name = names[cid] if names and cid < len(names) else str(cid)
                metrics[f'class_acc/{name}'] = float(
                    hits[cid] / counts[cid]) * 100
        if self.out_file:
            if names:
                results = [
                    dict(r, class_names=[names[c] for c in r['class_ids']])
                    for r in results
                ]
            dump_results(results, self.out_file)
            MMLogger.get_current_instance().info(
                f'Wrote {len(results)} per-episode results to '
                f'{self.out_file}')
        return metrics


def check_finite_logits(logits, episode_indices: Sequence[int]) -> None:
    """Refuse to score episodes whose logits are NaN or infinite.

    ``argmax`` of NaN logits is class 0, which would be scored as a
    prediction (accuracy 1/N); the episodes are named instead.

    Args:
        logits (Tensor | np.ndarray): Logits of E episodes, shape
            (E, N*Q, N).
        episode_indices (Sequence[int]): The E episodes' indices.

    Raises:
        FloatingPointError: Naming the episodes with non-finite logits.
    """
    if hasattr(logits, 'detach'):
        finite = logits.detach().isfinite().flatten(1).all(1).cpu().numpy()
    else:
        finite = np.isfinite(np.asarray(logits)).reshape(len(logits),
                                                         -1).all(1)
    if len(finite) != len(episode_indices):
        raise ValueError(f'{len(finite)} episodes of logits for '
                         f'{len(episode_indices)} episode indices')
    if finite.all():
        return
    bad = [int(episode_indices[i]) for i in np.flatnonzero(~finite)]
    shown = ', '.join(map(str, bad[:10])) + (', ...' if len(bad) > 10 else '')
    raise FloatingPointError(
        f'Non-finite logits (NaN or Inf) for {len(bad)} episode(s): episode '
        f'{shown}. The model cannot be scored on them; check the checkpoint '
        '(non-finite weights or BatchNorm statistics) and the inputs.')


def query_samples_to_records(data_samples: Sequence) -> List[dict]:
    """Group query samples by ``episode_idx`` into episode records, with
    the softmax scores and (when the samples carry it) each query's
    ``data_idx``.

    Raises:
        FloatingPointError: If a query's ``pred_score`` is not finite.
    """
    episodes: 'OrderedDict[int, list]' = OrderedDict()
    for sample in data_samples:
        if hasattr(sample, 'to_dict'):
            sample = sample.to_dict()
        episodes.setdefault(_scalar(_meta(sample, 'episode_idx')),
                            []).append(sample)
    records = []
    for idx, samples in episodes.items():
        scores = [np.asarray(s['pred_score']) for s in samples]
        check_finite_logits(np.stack(scores)[None], [idx])
        labels = [_scalar(s['gt_label']) for s in samples]
        class_of = {
            lbl: _scalar(_meta(s, 'class_id'))
            for lbl, s in zip(labels, samples)
        }
        scores = np.stack(scores)
        record = dict(
            episode_idx=idx,
            class_ids=[class_of[k] for k in sorted(class_of)],
            query_class_ids=[class_of[k] for k in labels],
            labels=labels,
            preds=scores.argmax(axis=1).tolist(),
            scores=scores)
        data_idx = [_meta(s, 'data_idx') for s in samples]
        if None not in data_idx:
            record['query_data_idx'] = [_scalar(i) for i in data_idx]
        records.append(record)
    return records


def dump_results(results: List[dict], out_file: str) -> None:
    """Write per-episode results, one JSON object per line (or a pickle /
    json file by extension through mmengine)."""
    results = [{
        k: v.tolist() if isinstance(v, np.ndarray) else v
        for k, v in r.items()
    } for r in results]
    if '://' not in out_file:
        # Created rather than failing after the whole test run.
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    if out_file.endswith('.jsonl'):
        with open(out_file, 'w') as f:
            for r in results:
                f.write(json.dumps(r) + '\n')
    else:
        dump(results, out_file)
