# Copyright (c) mmfsar contributors. All rights reserved.
"""Small generated video datasets, tiny models and references for tests
and smoke runs."""
import math
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

TINY_CLIP = dict(
    embed_dim=32,
    vision_cfg=dict(
        image_size=32, layers=1, width=32, head_width=16, patch_size=16),
    text_cfg=dict(
        context_length=16, vocab_size=49408, width=32, heads=2, layers=1))
"""A tiny open_clip ViT config (random weights, builds in milliseconds)."""

TINY_RN = dict(
    embed_dim=32,
    vision_cfg=dict(image_size=32, layers=[1, 1, 1, 1], width=8),
    text_cfg=dict(
        context_length=16, vocab_size=49408, width=32, heads=2, layers=1))
"""A tiny open_clip ModifiedResNet config."""


def tiny_model_cfg(clip: Optional[dict] = None, **head) -> dict:
    """A ``CLIPFSAR`` config around a tiny random open_clip model.

    Args:
        clip (dict, optional): open_clip model config. Defaults to
            :data:`TINY_CLIP`.
        **head: Extra ``PrototypeModulationHead`` arguments.
    """
    clip = clip or TINY_CLIP
    return dict(
        type='CLIPFSAR',
        backbone=dict(
            type='OpenCLIPVisual', model_name='tiny', model_cfg=clip),
        text_encoder=dict(
            type='OpenCLIPTextEncoder', model_name='tiny', model_cfg=clip),
        head=dict(
            type='PrototypeModulationHead',
            in_channels=clip['embed_dim'],
            num_heads=4,
            ffn_channels=64,
            **head),
        loss_text=dict(type='VideoTextLoss', loss_weight=1.0))


def write_video(path: str, frames: np.ndarray, fps: int = 8) -> None:
    """Encode RGB frames (T, H, W, 3) uint8 as an mp4 (OpenCV, mp4v)."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write {path}')
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def moving_square(label: int,
                  rng: np.random.Generator,
                  num_frames: int = 12,
                  size: int = 32) -> np.ndarray:
    """A square whose direction of motion is given by ``label``."""
    angle = 2 * np.pi * (label % 8) / 8
    frames = np.zeros((num_frames, size, size, 3), np.uint8)
    frames[:] = rng.integers(0, 80, size=3)
    color = rng.integers(120, 256, size=3)
    side = size // 4
    start = rng.uniform(size * 0.3, size * 0.5, size=2)
    for t in range(num_frames):
        x, y = (start + t * 1.5 * np.array([np.cos(angle), np.sin(angle)]))
        x0, y0 = int(x) % (size - side), int(y) % (size - side)
        frames[t, y0:y0 + side, x0:x0 + side] = color
    return frames


def make_video_dataset(root: str,
                       splits: Optional[Dict[str, Tuple[int, int]]] = None,
                       num_frames: int = 12,
                       size: int = 32,
                       seed: int = 0) -> str:
    """Write a few-shot video dataset in ``build_fsar_annotations`` layout.

    ``root/videos/<split>/<class>/<n>.mp4``, and ``root/annotations/``
    with ``<split>.txt`` (``relative/path label``) and
    ``<split>_classes.txt``.

    Args:
        root (str): Output folder.
        splits (dict): ``{split: (num_classes, videos_per_class)}``.
            Defaults to train 4 x 4, val 3 x 3, test 3 x 3.
        num_frames (int): Frames per video. Defaults to 12.
        size (int): Frame height and width. Defaults to 32.
        seed (int): Random seed. Defaults to 0.

    Returns:
        str: ``root``.
    """
    splits = splits or dict(train=(4, 4), val=(3, 3), test=(3, 3))
    rng = np.random.default_rng(seed)
    ann_dir = osp.join(root, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    offset = 0
    for split, (num_classes, per_class) in splits.items():
        lines, names = [], []
        for label in range(num_classes):
            name = f'{split} motion {label}'
            names.append(name)
            for n in range(per_class):
                rel = f'videos/{split}/class_{label}/{n}.mp4'
                write_video(
                    osp.join(root, rel),
                    moving_square(offset + label, rng, num_frames, size))
                lines.append(f'{rel} {label}')
        offset += num_classes
        with open(osp.join(ann_dir, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        with open(osp.join(ann_dir, f'{split}_classes.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return root


def fake_episode_batch(num_ways: int = 5,
                       num_shots: int = 1,
                       num_queries: int = 1,
                       num_frames: int = 4,
                       size: int = 32,
                       num_episodes: int = 1,
                       num_classes: int = 10,
                       seed: int = 0) -> dict:
    """A collated batch of random episodes, as ``episode_collate`` makes.

    Returns:
        dict: ``inputs`` (list of uint8 tensors (T, 3, H, W)) and
        ``data_samples`` (list of ``ActionDataSample``), episodes one after
        another, support then query.
    """
    import torch
    from mmaction.structures import ActionDataSample
    rng = np.random.default_rng(seed)
    inputs, samples = [], []
    for episode in range(num_episodes):
        class_ids = rng.choice(num_classes, num_ways, replace=False)
        roles = [(lbl, False) for lbl in range(num_ways)
                 for _ in range(num_shots)]
        roles += [(lbl, True) for lbl in range(num_ways)
                  for _ in range(num_queries)]
        for label, is_query in roles:
            inputs.append(
                torch.from_numpy(
                    rng.integers(
                        0, 256, (num_frames, 3, size, size), dtype=np.uint8)))
            sample = ActionDataSample()
            sample.set_gt_label(label)
            sample.set_metainfo(
                dict(
                    episode_idx=episode,
                    is_query=is_query,
                    class_id=int(class_ids[label]),
                    num_ways=num_ways))
            samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def random_episode_features(num_episodes: int = 2,
                            num_ways: int = 3,
                            num_shots: int = 2,
                            num_queries: int = 2,
                            num_frames: int = 4,
                            channels: int = 6,
                            nonnegative: bool = False,
                            seed: int = 1) -> tuple:
    """Random frame features of episodes, supports in shuffled order.

    Returns:
        tuple: ``support`` (E, N*K, T, D), ``support_labels`` (E, N*K),
        ``query`` (E, N*Q, T, D) and ``num_ways``.
    """
    import torch
    gen = torch.Generator().manual_seed(seed)
    draw = torch.rand if nonnegative else torch.randn
    support = draw(
        num_episodes,
        num_ways * num_shots,
        num_frames,
        channels,
        generator=gen)
    labels = torch.stack([
        torch.randperm(num_ways * num_shots, generator=gen) % num_ways
        for _ in range(num_episodes)
    ])
    query = draw(
        num_episodes,
        num_ways * num_queries,
        num_frames,
        channels,
        generator=gen)
    return support, labels, query, num_ways


def cached_episode_logits(head,
                          support,
                          support_labels,
                          query,
                          num_ways,
                          support_text=None,
                          query_text=None):
    """A head's logits the way the cached evaluation computes them:
    ``video_tokens`` of all videos at once, then ``episode_logits`` of
    every episode by row indices. Shapes as in ``BaseFewShotHead.forward``;
    ``query_text`` (E, N*Q, D) is the text of the queries' classes, for
    heads that take text."""
    import torch
    num_episodes, num_support = support_labels.shape
    num_query = query.shape[1]
    videos = torch.cat([support.flatten(0, 1), query.flatten(0, 1)])
    text = None
    if support_text is not None:
        text = torch.cat(
            [support_text.flatten(0, 1),
             query_text.flatten(0, 1)])
    with torch.no_grad():
        tokens = head.video_tokens(videos, text)
        rows = torch.arange(len(videos))
        return head.episode_logits(
            tokens, rows[:num_episodes * num_support].view(num_episodes,
                                                           -1), support_labels,
            rows[num_episodes * num_support:].view(num_episodes,
                                                   num_query), num_ways)


def released_lr(step: int, base: float, warm: float, steps_iter: int,
                steps: Sequence[float], lrs: Sequence[float],
                double_count: bool) -> float:
    """The released codebase's learning rate at an iteration, from its
    formula: the position is ``e = step / steps_iter`` "epochs" (the
    released code adds ``floor(step / steps_iter)``, counting the epoch
    twice), with a linear warm-up from ``warm`` while ``e < 1`` and
    ``base * lrs[k]`` from ``steps[k]`` on."""
    epoch = step / steps_iter
    if double_count:
        epoch += math.floor(step / steps_iter)
    if epoch < 1:
        return warm + (base - warm) * epoch
    return base * lrs[max(k for k, s in enumerate(steps) if s <= epoch)]


def scheduled_lrs(cfg, released: bool = False) -> List[float]:
    """The learning rate of every training iteration of a config, from its
    mmengine ``param_scheduler`` (with ``released=True``, its
    ``MultiStepLR`` milestones replaced by ``cfg.released_milestones``, as
    the configs document for parity with the released runs)."""
    import torch
    from mmaction.registry import PARAM_SCHEDULERS
    from mmengine.optim import OptimWrapper
    param = torch.nn.Parameter(torch.zeros(1))
    optim = OptimWrapper(
        torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr))
    decays = [s for s in cfg.param_scheduler if s['type'] == 'MultiStepLR']
    milestones = list(cfg.released_milestones) if released else None
    schedulers = []
    for sched in cfg.param_scheduler:
        sched = dict(sched, optimizer=optim)
        if milestones is not None and sched['type'] == 'MultiStepLR':
            count = len(sched['milestones']) if len(decays) == 1 else 1
            sched['milestones'], milestones = (milestones[:count],
                                               milestones[count:])
        schedulers.append(PARAM_SCHEDULERS.build(sched))
    lrs = []
    with warnings.catch_warnings():
        # Only the rates are stepped, without optimizer steps.
        warnings.filterwarnings('ignore', 'Detected call of')
        for _ in range(cfg.train_cfg.max_iters):
            lrs.append(optim.param_groups[0]['lr'])
            for sched in schedulers:
                sched.step()
    return lrs
