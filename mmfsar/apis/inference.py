# Copyright (c) mmfsar contributors. All rights reserved.
"""Few-shot inference on your own clips, in the style of ``mmaction.apis``.

>>> from mmfsar.apis import init_fsar_model, inference_fsar
>>> model = init_fsar_model('configs/clip_fsar_ucf101_5shot.py', 'ckpt.pth')
>>> results = inference_fsar(
...     model, {'juggling balls': ['a.mp4', 'b.mp4'],
...             'playing violin': ['c.mp4']}, ['query.mp4'])
>>> results[0].pred_class, results[0].scores
"""
import os
import os.path as osp
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmengine
import numpy as np
import torch
from mmaction.registry import MODELS
from mmengine.dataset import Compose
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from torch import Tensor, nn

from mmfsar.datasets.episodic_dataset import VideoLoadError, is_random_pipeline
from mmfsar.models.heads import OTAMHead, PrototypeModulationHead
from mmfsar.models.utils.otam import cosine_similarity_eps, otam_alignment

#: File endings read as videos in a support folder.
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg',
                    '.mpeg', '.wmv', '.flv', '.3gp')


@dataclass
class FrameAlignment:
    """The frame alignment behind a query's best match.

    Attributes:
        support (str): The support clip whose frames stand for the match:
            the predicted class's first clip for a prototype (``kind
            'prototype'``), or the nearest clip of the class for a head
            that compares clips (``kind 'clip'``).
        kind (str): ``'prototype'`` or ``'clip'``.
        frame_similarity (np.ndarray): The frame similarities the metric
            aligns, query frames (rows, T) against the match's frames
            (columns, T): the cosine with ``eps`` of OTAM, after prototype
            modulation for ``PrototypeModulationHead``.
        path (list[tuple[int, int]]): ``(query frame, support frame)`` pairs
            of the OTAM alignment, query to support direction
            (:func:`~mmfsar.models.utils.otam_alignment`).
        support_frames (np.ndarray, optional): Frames of ``support``, shape
            (T, H, W, 3), uint8 RGB, with ``return_frames=True``.
    """
    support: str
    kind: str
    frame_similarity: np.ndarray
    path: List[Tuple[int, int]]
    support_frames: Optional[np.ndarray] = None


@dataclass
class FewShotPrediction:
    """What :func:`inference_fsar` returns for one query.

    Attributes:
        query (str): The query file, as given.
        pred_label (int): Index of the predicted class in ``class_names``.
        pred_class (str): The predicted class name.
        class_names (list[str]): The support classes, in the order of
            ``scores``.
        scores (np.ndarray): Softmax of the logits over the classes (N, ).
        distances (np.ndarray, optional): Per-class distances (N, ): minus
            the metric's logits. For OTAM heads the OTAM distance (both
            directions summed) to the class's prototype
            (``PrototypeModulationHead``, ``logit_scale`` divided out) or
            the mean distance to its clips (``OTAMHead``); the soft
            minimum can make them negative. None for the text-only
            baseline.
        alignment (FrameAlignment, optional): The alignment behind the best
            match, for OTAM-based heads; None for other heads and the
            text-only baseline.
        text_only (bool): Whether this is the text-only baseline.
        frames (np.ndarray, optional): The query's frames as the model saw
            them, (T, H, W, 3) uint8 RGB, with ``return_frames=True``.
    """
    query: str
    pred_label: int
    pred_class: str
    class_names: List[str]
    scores: np.ndarray
    distances: Optional[np.ndarray] = None
    alignment: Optional[FrameAlignment] = None
    text_only: bool = False
    frames: Optional[np.ndarray] = None


def init_fsar_model(config: Union[str, Path, mmengine.Config],
                    checkpoint: Optional[str] = None,
                    device: Union[str, torch.device] = 'cpu',
                    cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a few-shot recognizer from a config and load a checkpoint.

    The checkpoint is loaded with mmfsar's safe loading
    (``torch.load(weights_only=True)``). Without a checkpoint, the model's
    configured initial weights are loaded (e.g. CLIP's, through
    ``init_weights``), with a head that has not been trained.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file. Defaults to None.
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides of config keys, e.g.
            ``{'model.head.merge_before': True}``.

    Returns:
        nn.Module: The model in eval mode, with the config as ``model.cfg``.
    """
    if isinstance(config, (str, Path)):
        config = mmengine.Config.fromfile(str(config))
    elif not isinstance(config, mmengine.Config):
        raise TypeError('config must be a file name or a Config, got '
                        f'{type(config).__name__}.')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    init_default_scope(config.get('default_scope', 'mmaction'))
    model = MODELS.build(config.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        model.init_weights()
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def get_test_pipeline_cfg(cfg: mmengine.Config) -> list:
    """The pipeline the test loop runs on each video: that of the dataset
    inside ``test_dataloader`` (``EpisodicDataset.dataset.pipeline``), or
    the config's ``test_pipeline``."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = dataset.get('dataset', {}).get('pipeline')
    if pipeline is None:
        pipeline = dataset.get('pipeline', cfg.get('test_pipeline'))
    if pipeline is None:
        raise ValueError('The config has no test pipeline '
                         '(test_dataloader.dataset.dataset.pipeline or '
                         'test_pipeline).')
    return pipeline


def support_from_folder(support_dir: str) -> Dict[str, List[str]]:
    """Read a support set laid out as one sub-folder per class.

    ``SUPPORT_DIR/<class>/<clip>``: folder names become class names with
    underscores read as spaces (``playing_violin`` -> ``playing violin``),
    in the order of the class names; the clips of a class are its files
    with a video ending (:data:`VIDEO_EXTENSIONS`), in name order.

    Raises:
        ValueError: Naming the file or folder at fault, for a file beside
            the class folders, anything in a class folder that is not a
            video file, a class folder without videos, two folders that
            give the same class name, or fewer than two classes.
    """
    if not osp.isdir(support_dir):
        raise FileNotFoundError(f'Support folder not found: {support_dir}')
    support: Dict[str, List[str]] = {}
    folder_of: Dict[str, str] = {}
    entries = sorted((' '.join(entry.replace('_', ' ').split()), entry)
                     for entry in os.listdir(support_dir))
    for name, entry in entries:
        path = osp.join(support_dir, entry)
        if not osp.isdir(path):
            raise ValueError(
                f'{path} is a file in the support folder, which holds only '
                'one sub-folder per class (SUPPORT_DIR/<class>/<clips>).')
        if not name:
            raise ValueError(f'Class folder {path} gives an empty class '
                             'name.')
        if name in folder_of:
            raise ValueError(
                f'Class folders {folder_of[name]} and {path} both give the '
                f'class name {name!r} (underscores read as spaces); rename '
                'one.')
        clips = []
        for clip in sorted(os.listdir(path)):
            clip_path = osp.join(path, clip)
            if not (osp.isfile(clip_path)
                    and clip.lower().endswith(VIDEO_EXTENSIONS)):
                raise ValueError(
                    f'{clip_path} is not a video file (a file ending in '
                    f'{", ".join(VIDEO_EXTENSIONS)}); a class folder holds '
                    'only the clips of its class.')
            clips.append(clip_path)
        if not clips:
            raise ValueError(f'Class folder {path} has no videos.')
        folder_of[name] = path
        support[name] = clips
    if len(support) < 2:
        raise ValueError(
            f'{support_dir} has {len(support)} class folder(s); few-shot '
            'classification needs at least two classes.')
    return support


def _check_inputs(model: nn.Module, support: Dict[str, Sequence[str]],
                  queries: Sequence[str], text_only: bool) -> None:
    if not isinstance(support, dict):
        raise TypeError('support must be a dict of class name -> list of '
                        f'video files, got {type(support).__name__}.')
    if len(support) < 2:
        raise ValueError(
            f'The support set has {len(support)} class(es) '
            f'({list(support)}); few-shot classification needs at least '
            'two.')
    if not queries:
        raise ValueError('No query videos given.')
    owner: Dict[str, str] = {}
    for name, clips in support.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f'Class name {name!r} is not a non-empty '
                             'string.')
        if isinstance(clips, (str, Path)) or not clips:
            raise ValueError(f'Class {name!r} has no support videos: give '
                             'a list of video files.')
        for clip in clips:
            key = _resolve(clip, f'support video of class {name!r}')
            if key in owner:
                raise ValueError(
                    f'Support video {clip} is given twice (for class '
                    f'{owner[key]!r} and class {name!r}).')
            owner[key] = name
    for query in queries:
        key = _resolve(query, 'query video')
        if key in owner:
            raise ValueError(
                f'Query {query} is also a support video of class '
                f'{owner[key]!r} (the same file): a query must be new to '
                'the support set.')
    head = getattr(model, 'head', None)
    if getattr(head, 'merge_before', False) and not text_only:
        cfg = getattr(model, 'cfg', None) or {}
        shots = cfg.get('test_dataloader', {}).get('dataset',
                                                   {}).get('num_shots', 2)
        single = [name for name, clips in support.items() if len(clips) < 2]
        if single and shots > 1:
            raise ValueError(
                f'Class {single[0]!r} has a single support video, but this '
                'model averages the shots of a class before modulating '
                'them (model.head.merge_before=True, the multi-shot '
                f'recipe; its test episodes have {shots} shots): give at '
                'least 2 videos per class, or use a 1-shot config.')


def _resolve(path: str, what: str) -> str:
    if not isinstance(path, (str, Path)):
        raise TypeError(f'A {what} must be a file path, got {path!r}.')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what.capitalize()} not found: {path}')
    return osp.realpath(path)


def _load(pipeline: Compose, path: str, what: str) -> Tensor:
    data = dict(filename=str(path), label=-1, start_index=0, modality='RGB')
    try:
        packed = pipeline(data)
    except Exception as err:
        raise VideoLoadError(f'Cannot read {what} {path}: '
                             f'{type(err).__name__}: {err}') from err
    if packed is None:
        raise VideoLoadError(f'The test pipeline returned None for {what} '
                             f'{path}.')
    return packed['inputs']


@torch.no_grad()
def _encode(model: nn.Module, pipeline: Compose, files: List[Tuple[str, str]],
            batch_size: int,
            keep_frames: bool) -> Tuple[Tensor, Optional[List[np.ndarray]]]:
    """Per-frame features (V, T, ...) of ``files`` ((path, what) pairs),
    each decoded once, and the frames as the model saw them."""
    feats, frames = [], [] if keep_frames else None
    for start in range(0, len(files), batch_size):
        inputs = [
            _load(pipeline, path, what)
            for path, what in files[start:start + batch_size]
        ]
        shapes = {tuple(x.shape) for x in inputs}
        if len(shapes) > 1:
            raise ValueError('The test pipeline gave videos of different '
                             f'shapes {sorted(shapes)}; it must fix the '
                             'number of frames and their size.')
        if keep_frames:
            # (T, 3, H, W) -> (T, H, W, 3); PackActionInputs keeps the
            # channel order of the decoder (RGB for decord and PyAV).
            frames += [x.permute(0, 2, 3, 1).numpy() for x in inputs]
        data = model.data_preprocessor(
            dict(inputs=inputs, data_samples=None), False)
        feats.append(model.extract_feat(data['inputs']))
    return torch.cat(feats), frames


def _distances_and_alignment(
        model: nn.Module, tokens: Dict[str, Tensor], support_rows: Tensor,
        support_labels: Tensor, query_rows: Tensor, logits: Tensor,
        preds: Tensor, num_ways: int, support_files: List[str]
) -> Tuple[Tensor, List[Optional[FrameAlignment]]]:
    """Per-class distances (Q, N) and the alignment behind each query's
    predicted class, for the heads that align frames with OTAM."""
    head = model.head
    no_alignment = [None] * len(preds)
    if isinstance(head, PrototypeModulationHead):
        distances = -logits / head.logit_scale
        metric = head.metric
        if not isinstance(metric, OTAMHead):
            return distances, no_alignment
        modulated = tokens['support'][support_rows] \
            if 'support' in tokens else None
        protos = head.prototypes(tokens['frames'][support_rows],
                                 support_labels, tokens['text'][support_rows],
                                 num_ways, modulated)[0]
        queries = tokens['query'][query_rows[0]]
        first = {
            int(label): support_files[i]
            for i, label in reversed(list(enumerate(support_labels[0])))
        }
        matches = [(protos[int(p)], first[int(p)], 'prototype') for p in preds]
    elif isinstance(head, OTAMHead):
        distances, metric = -logits, head
        feats = tokens['feats']
        queries = feats[query_rows[0]]
        clips = feats[support_rows[0]]
        per_clip = head.video_distances(clips[None], queries[None])[0]
        matches = []
        for q, p in enumerate(preds):
            own = torch.nonzero(support_labels[0] == p).flatten()
            best = int(own[per_clip[q, own].argmin()])
            matches.append((clips[best], support_files[best], 'clip'))
    else:
        return -logits, no_alignment
    alignments = []
    for query, (frames, support, kind) in zip(queries, matches):
        sim = cosine_similarity_eps(query.float(), frames.float(), metric.eps)
        alignments.append(
            FrameAlignment(
                support=support,
                kind=kind,
                frame_similarity=sim.cpu().numpy(),
                path=otam_alignment(1 - sim)))
    return distances, alignments


@torch.no_grad()
def inference_fsar(model: nn.Module,
                   support: Dict[str, Sequence[str]],
                   queries: Sequence[str],
                   text_only: bool = False,
                   batch_size: int = 8,
                   return_frames: bool = False,
                   test_pipeline: Optional[Compose] = None
                   ) -> List[FewShotPrediction]:
    """Classify query videos against a support set of labelled videos.

    The support set and the queries form one episode: N classes (any
    N >= 2) with any number of support videos each (shots may differ
    between classes, as far as the head allows: mmfsar's heads average
    per class), and any number of queries. Each distinct file is decoded
    through the config's test pipeline and encoded once, whatever the
    number of queries; the head then scores the queries exactly as the
    cached test loop scores an episode with the same videos and labels.

    The class names are the text the model's text tower sees (through its
    prompt, ``'a photo of {}'`` for CLIP-FSAR); this sets them as the
    model's evaluation class names (``model.set_class_names(names,
    'eval')``).

    Args:
        model (nn.Module): A ``FewShotRecognizer`` from
            :func:`init_fsar_model`.
        support (dict[str, list[str]]): Class name -> its video files.
        queries (list[str]): Video files to classify.
        text_only (bool): Classify the queries by the class names alone,
            without the support videos (CLIP zero-shot:
            ``FewShotRecognizer.text_logits`` of the query's mean frame
            feature). The support videos are then not read. Needs a model
            with a text tower. Defaults to False.
        batch_size (int): Videos per backbone call. Defaults to 8.
        return_frames (bool): Keep the frames of the queries and of the
            matched support videos in the results. Defaults to False.
        test_pipeline (Compose, optional): Defaults to the config's test
            pipeline (:func:`get_test_pipeline_cfg`).

    Returns:
        list[FewShotPrediction]: One per query, in the order given.

    Raises:
        ValueError, FileNotFoundError, VideoLoadError: Naming the class or
            file at fault: fewer than two classes, a class without videos,
            a missing or unreadable video, a video given twice in the
            support set, a query that is also a support video, or a class
            with a single video for a model that averages shots before
            modulation (``merge_before``) in its multi-shot configuration.
    """
    if model.training:
        raise RuntimeError('Call model.eval() first: in training mode '
                           'dropout changes every prediction.')
    _check_inputs(model, support, queries, text_only)
    if text_only and not getattr(model, 'with_text', False):
        raise ValueError('text_only=True classifies by class text, but the '
                         f'model ({type(model).__name__}) has no text tower '
                         '(model.text_encoder).')
    if test_pipeline is None:
        if getattr(model, 'cfg', None) is None:
            raise ValueError('The model has no config (model.cfg) to take '
                             'the test pipeline from: build it with '
                             'init_fsar_model, or pass test_pipeline.')
        init_default_scope(model.cfg.get('default_scope', 'mmaction'))
        test_pipeline = Compose(get_test_pipeline_cfg(model.cfg))
    if is_random_pipeline(test_pipeline):
        print_log(
            'The test pipeline is random (random frames, crops, flips or '
            'colour jitter): predictions change from call to call.',
            logger='current',
            level=30)
    class_names = list(support)
    num_ways = len(class_names)

    # Distinct query files, in order of first appearance.
    query_row: Dict[str, int] = {}
    query_files: List[Tuple[str, str]] = []
    for query in queries:
        key = osp.realpath(query)
        if key not in query_row:
            query_row[key] = len(query_files)
            query_files.append((str(query), 'query video'))
    support_files, support_labels = [], []
    if not text_only:
        for label, name in enumerate(class_names):
            for clip in support[name]:
                support_files.append(
                    (str(clip), f'support video of class {name!r}'))
                support_labels.append(label)
    files = support_files + query_files
    feats, frames = _encode(model, test_pipeline, files, batch_size,
                            return_frames)
    device = feats.device
    num_support = len(support_files)
    query_rows = torch.arange(num_support, len(files), device=device)

    distances = alignments = None
    if text_only:
        logits = model.text_logits(feats[query_rows].mean(dim=1), class_names)
    else:
        model.set_class_names(class_names, 'eval')
        class_ids = torch.as_tensor(
            support_labels + [0] * len(query_files), device=device)
        tokens = model.video_tokens(feats, class_ids, 'eval')
        support_rows = torch.arange(num_support, device=device)[None]
        labels = torch.as_tensor(support_labels, device=device)[None]
        logits = model.episode_logits_from_tokens(tokens, support_rows, labels,
                                                  query_rows[None],
                                                  num_ways)[0]
    if not bool(torch.isfinite(logits).all()):
        bad = torch.nonzero(~torch.isfinite(logits).all(dim=1)).flatten()
        raise FloatingPointError(
            f'Non-finite logits for query {query_files[int(bad[0])][0]}: '
            'the model produced NaN or Inf; check the checkpoint and the '
            'videos.')
    preds = logits.argmax(dim=-1)
    if not text_only:
        distances, alignments = _distances_and_alignment(
            model, tokens, support_rows, labels, query_rows[None], logits,
            preds, num_ways, [path for path, _ in support_files])
    scores = logits.float().softmax(dim=-1).cpu().numpy()
    row_of_file = {path: i for i, (path, _) in enumerate(support_files)}

    results = []
    for query in queries:
        row = query_row[osp.realpath(query)]
        pred = int(preds[row])
        alignment = alignments[row] if alignments else None
        if alignment is not None and return_frames:
            alignment = FrameAlignment(
                support=alignment.support,
                kind=alignment.kind,
                frame_similarity=alignment.frame_similarity,
                path=alignment.path,
                support_frames=frames[row_of_file[alignment.support]])
        results.append(
            FewShotPrediction(
                query=query,
                pred_label=pred,
                pred_class=class_names[pred],
                class_names=class_names,
                scores=scores[row],
                distances=None
                if distances is None else distances[row].float().cpu().numpy(),
                alignment=alignment,
                text_only=text_only,
                frames=frames[num_support + row] if return_frames else None))
    return results
