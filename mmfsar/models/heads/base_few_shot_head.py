# Copyright (c) mmfsar contributors. All rights reserved.
from abc import ABCMeta, abstractmethod
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from mmengine.model import BaseModule
from torch import Tensor


def class_mean(values: Tensor, labels: Tensor, num_ways: int) -> Tensor:
    """Mean over the members of each class along dim 1.

    Args:
        values (Tensor): Shape (E, M, ...): one entry per support video.
        labels (Tensor): Episode labels 0..N-1 of the entries, shape (E, M).
        num_ways (int): N.

    Returns:
        Tensor: Shape (E, N, ...), class ``n`` at position ``n``.
    """
    onehot = F.one_hot(labels, num_ways).to(values.dtype)
    weights = onehot / onehot.sum(dim=1, keepdim=True).clamp(min=1)
    return torch.einsum('emn,em...->en...', weights, values)


def group_by_class(values: Tensor, labels: Tensor, num_ways: int) -> Tensor:
    """Arrange support entries by class, for heads that attend over all
    shots of a class at once.

    Args:
        values (Tensor): Shape (E, N*K, ...): one entry per support video.
        labels (Tensor): Episode labels 0..N-1 of the entries, shape
            (E, N*K).
        num_ways (int): N.

    Returns:
        Tensor: Shape (E, N, K, ...), class ``n`` at position ``n``, its
        shots in their order in ``values``.

    Raises:
        ValueError: If the classes of an episode have different numbers of
            support videos.
    """
    num_episodes, num_support = labels.shape
    counts = F.one_hot(labels, num_ways).sum(dim=1)
    unequal = num_support % num_ways or bool(
        (counts != num_support // num_ways).any())
    if unequal:
        raise ValueError(
            'Every class of an episode needs the same number of support '
            f'videos; got {counts.tolist()} per class for {num_ways} ways.')
    order = labels.argsort(dim=1, stable=True)
    rows = torch.arange(num_episodes, device=labels.device)[:, None]
    return values[rows, order].unflatten(1, (num_ways, -1))


def episode_chunks(num_episodes: int,
                   elements_per_episode: int,
                   max_elements: int = 2**26) -> List[slice]:
    """Slices of episodes whose intermediate tensors stay under a budget.

    Heads that compare every query tuple or frame with every support one
    hold tensors linear in the number of episodes; the cached evaluation
    passes up to ``test_cfg.episode_batch_size`` episodes at once.

    Args:
        num_episodes (int): E.
        elements_per_episode (int): Size of the largest intermediate tensor
            of one episode.
        max_elements (int): Budget per chunk. Defaults to 2**26 (256 MiB
            in float32).

    Returns:
        list[slice]: Consecutive slices covering ``range(num_episodes)``.
    """
    size = max(1, max_elements // max(1, elements_per_episode))
    return [
        slice(start, min(start + size, num_episodes))
        for start in range(0, num_episodes, size)
    ]


class BaseFewShotHead(BaseModule, metaclass=ABCMeta):
    """The interface every few-shot head implements.

    A head turns the features of an episode's videos into logits over the
    episode's N classes. It keeps no state between calls. Shapes use N ways,
    K shots, Q queries per class, T frames, and E episodes processed
    together; a video's features are ``(T, D)`` for pooled frame features or
    ``(T, C, H, W)`` for heads that ask their backbone for spatial maps.
    Support videos may come in any order; ``support_labels`` says which
    class each belongs to, and logit column ``n`` is episode label ``n``.

    Training and end-to-end evaluation call :meth:`loss` and
    :meth:`forward` on whole episodes. The cached evaluation splits the work
    in two: :meth:`video_tokens` runs once per distinct video (everything
    that does not depend on the episode, out of training), and
    :meth:`episode_logits` runs per episode on those tokens. The defaults
    pass the features through and call :meth:`forward`, which suits any
    head; a head whose per-video work is expensive overrides both, and
    must give the same logits as :meth:`forward`.

    Args:
        loss_cls (dict): Loss on the query logits. Defaults to
            ``dict(type='CrossEntropyLoss')``.
        init_cfg (dict, optional): Initialisation config.
    """
    #: Whether the head takes a class-text token per support video.
    uses_text: bool = False
    #: Whether :meth:`loss` needs the preprocessed frames of the episode
    #: (``support_inputs`` / ``query_inputs``), e.g. for a reconstruction
    #: loss.
    uses_inputs: bool = False

    def __init__(self,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.loss_cls = MODELS.build(loss_cls)

    @abstractmethod
    def forward(self,
                support: Tensor,
                support_labels: Tensor,
                query: Tensor,
                num_ways: int,
                support_text: Optional[Tensor] = None) -> Tensor:
        """Episode logits.

        Args:
            support (Tensor): Support features, shape (E, N*K, T, ...).
            support_labels (Tensor): Episode labels 0..N-1, shape (E, N*K).
            query (Tensor): Query features, shape (E, N*Q, T, ...).
            num_ways (int): N.
            support_text (Tensor, optional): Class-text token of each
                support video, shape (E, N*K, D), for heads that use text.

        Returns:
            Tensor: Logits, shape (E, N*Q, N).
        """

    def loss(self, support: Tensor, support_labels: Tensor, query: Tensor,
             query_labels: Tensor, num_ways: int,
             **extra) -> Dict[str, Tensor]:
        """Training losses of episodes, and their query accuracy.

        Args:
            support, support_labels, query, num_ways: As in :meth:`forward`.
            query_labels (Tensor): Episode labels of the queries, shape
                (E, N*Q).
            **extra: What the recognizer knows of the episode, for heads
                with auxiliary losses: ``support_text`` (E, N*K, D),
                ``support_class_ids`` (E, N*K) and ``query_class_ids``
                (E, N*Q) (class ids within the training split), and
                ``support_inputs`` / ``query_inputs`` (the preprocessed
                frames, (E, N*K, T, 3, H, W) / (E, N*Q, T, 3, H, W)).

        Returns:
            dict[str, Tensor]: ``loss_fsl``, the cross-entropy of the query
            logits, any auxiliary terms (keys starting with ``loss_``) and
            ``acc``, the query accuracy (logged, not a loss).
        """
        logits = self(
            support,
            support_labels,
            query,
            num_ways,
            support_text=extra.get('support_text'))
        return self.fsl_losses(logits, query_labels)

    def fsl_losses(self, logits: Tensor,
                   query_labels: Tensor) -> Dict[str, Tensor]:
        """``loss_fsl`` and ``acc`` of query logits (E, N*Q, N)."""
        with torch.no_grad():
            acc = (logits.argmax(-1) == query_labels).float().mean()
        return dict(
            loss_fsl=self.loss_cls(
                logits.flatten(0, 1), query_labels.flatten()),
            acc=acc)

    def video_tokens(self,
                     feats: Tensor,
                     text: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Per-video work that does not depend on the episode.

        Called out of training only, on any batch of videos; every value
        must have one row per video, so that tokens of videos encoded apart
        (by other ranks, in other batches) can be concatenated.

        Args:
            feats (Tensor): Features of V videos, shape (V, T, ...).
            text (Tensor, optional): Class-text token of each video's class,
                shape (V, D), for heads that use text.

        Returns:
            dict[str, Tensor]: Defaults to ``feats`` (and ``text``).
        """
        tokens = dict(feats=feats)
        if text is not None:
            tokens['text'] = text
        return tokens

    def episode_logits(self, tokens: Dict[str, Tensor], support: Tensor,
                       support_labels: Tensor, query: Tensor,
                       num_ways: int) -> Tensor:
        """Logits of episodes from :meth:`video_tokens` of their videos.

        Args:
            tokens (dict[str, Tensor]): Tokens of V videos.
            support (Tensor): Rows of the support videos in ``tokens``,
                shape (E, N*K).
            support_labels (Tensor): Shape (E, N*K).
            query (Tensor): Rows of the query videos, shape (E, N*Q).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N), equal to :meth:`forward` on the same
            videos.
        """
        text = tokens['text'][support] if 'text' in tokens else None
        return self(
            tokens['feats'][support],
            support_labels,
            tokens['feats'][query],
            num_ways,
            support_text=text)


class VideoTokenHead(BaseFewShotHead):
    """A head that matches per-video tokens: everything it computes on one
    video alone (projections, frame means, ...) is :meth:`tokens`, and the
    episode's logits are a function of the support and query tokens only.

    :meth:`forward` and the cached evaluation then run the same code:
    ``forward`` computes the tokens of the episode's videos, the cached
    evaluation those of every distinct video once, and both call
    :meth:`logits_from_tokens` on chunks of episodes whose largest tensor
    (:meth:`elements_per_episode`) stays under a budget.
    """

    @abstractmethod
    def tokens(self, feats: Tensor) -> Dict[str, Tensor]:
        """Per-video tokens.

        Args:
            feats (Tensor): Features of V videos, shape (V, T, ...).

        Returns:
            dict[str, Tensor]: Values with one row per video.
        """

    @abstractmethod
    def logits_from_tokens(self, support: Dict[str,
                                               Tensor], support_labels: Tensor,
                           query: Dict[str, Tensor], num_ways: int) -> Tensor:
        """Episode logits from tokens.

        Args:
            support (dict[str, Tensor]): Tokens of the support videos, each
                of shape (E, N*K, ...).
            support_labels (Tensor): Shape (E, N*K).
            query (dict[str, Tensor]): Tokens of the queries, each of shape
                (E, N*Q, ...).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """

    def elements_per_episode(self, num_support: int, num_query: int,
                             shapes: Dict[str, torch.Size]) -> int:
        """Size of the largest tensor :meth:`logits_from_tokens` makes per
        episode.

        Args:
            num_support (int): N*K.
            num_query (int): N*Q.
            shapes (dict[str, torch.Size]): Shape of one video's tokens.

        Returns:
            int: Defaults to 0, no chunking.
        """
        return 0

    def _chunked_logits(self, take: Callable[[slice], Tuple[dict, dict]],
                        support_labels: Tensor, num_query: int, num_ways: int,
                        shapes: Dict[str, torch.Size]) -> Tensor:
        """Logits of chunks of episodes; ``take`` gives the support and
        query tokens of a slice of episodes."""
        num_episodes, num_support = support_labels.shape
        chunks = episode_chunks(
            num_episodes,
            self.elements_per_episode(num_support, num_query, shapes))
        parts = []
        for chunk in chunks:
            support, query = take(chunk)
            parts.append(
                self.logits_from_tokens(support, support_labels[chunk], query,
                                        num_ways))
        return torch.cat(parts)

    def forward(self,
                support: Tensor,
                support_labels: Tensor,
                query: Tensor,
                num_ways: int,
                support_text: Optional[Tensor] = None) -> Tensor:
        """Episode logits; see :meth:`BaseFewShotHead.forward`.

        Args:
            support (Tensor): Shape (E, N*K, T, ...).
            support_labels (Tensor): Shape (E, N*K).
            query (Tensor): Shape (E, N*Q, T, ...).
            num_ways (int): N.
            support_text: Unused.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        num_episodes = support.shape[0]

        def episode_tokens(feats: Tensor) -> Dict[str, Tensor]:
            return {
                k: v.unflatten(0, (num_episodes, -1))
                for k, v in self.tokens(feats.flatten(0, 1)).items()
            }

        support_tokens = episode_tokens(support)
        query_tokens = episode_tokens(query)
        return self._chunked_logits(
            lambda chunk: ({
                k: v[chunk]
                for k, v in support_tokens.items()
            }, {
                k: v[chunk]
                for k, v in query_tokens.items()
            }), support_labels, query.shape[1], num_ways, {
                k: v.shape[2:]
                for k, v in query_tokens.items()
            })

    def video_tokens(self,
                     feats: Tensor,
                     text: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """:meth:`tokens` of V videos (V, T, ...); ``text`` is unused."""
        if self.training:
            raise RuntimeError('video_tokens is for evaluation: in training '
                               'mode dropout would make every use '
                               'different.')
        return self.tokens(feats)

    def episode_logits(self, tokens: Dict[str, Tensor], support: Tensor,
                       support_labels: Tensor, query: Tensor,
                       num_ways: int) -> Tensor:
        """Logits of episodes from :meth:`video_tokens`; see
        :meth:`BaseFewShotHead.episode_logits`."""
        return self._chunked_logits(
            lambda chunk: ({
                k: v[support[chunk]]
                for k, v in tokens.items()
            }, {
                k: v[query[chunk]]
                for k, v in tokens.items()
            }), support_labels, query.shape[1], num_ways, {
                k: v.shape[1:]
                for k, v in tokens.items()
            })


def episode_class_ids(extra: dict, num_classes: int) -> Tensor:
    """Training-split class ids of an episode's videos, support then query,
    shape (E, N*K + N*Q), from the ``extra`` of ``BaseFewShotHead.loss``.

    Refuses a head classifier whose width ``num_classes`` differs from the
    number of training classes.
    """
    if 'support_class_ids' not in extra:
        raise ValueError('A classification loss over the training classes '
                         'needs support_class_ids and query_class_ids in '
                         'the extra arguments of head.loss '
                         '(FewShotRecognizer passes them).')
    actual = extra.get('num_classes', num_classes)
    if actual != num_classes:
        raise ValueError(
            f'model.head.num_classes={num_classes} but the training split '
            f'has {actual} classes; set model.head.num_classes to the '
            'number of training classes.')
    return torch.cat([extra['support_class_ids'], extra['query_class_ids']],
                     dim=1)
