# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction.utils import ConfigType, OptConfigType, SampleList
from mmengine.model import BaseModel
from torch import Tensor

from ..utils.otam import cosine_similarity_eps


class Episode:
    """Positions of one episode's videos in a flat batch.

    Args:
        support (list[int]): Batch positions of the N*K support videos.
        query (list[int]): Batch positions of the N*Q query videos.
        num_ways (int): N.
    """

    def __init__(self, support: List[int], query: List[int],
                 num_ways: int) -> None:
        self.support = support
        self.query = query
        self.num_ways = num_ways


def split_episodes(data_samples: SampleList) -> List[Episode]:
    """Group a flat list of video samples into episodes by ``episode_idx``.

    A batch holds whole episodes one after another, as the episode collate
    function lays them out; support and query videos are told apart by the
    ``is_query`` metainfo.
    """
    episodes, current, last = [], None, object()
    for pos, sample in enumerate(data_samples):
        idx = sample.metainfo['episode_idx']
        if idx != last:
            current = Episode([], [], sample.metainfo['num_ways'])
            episodes.append(current)
            last = idx
        (current.query
         if sample.metainfo['is_query'] else current.support).append(pos)
    shapes = {(len(e.support), len(e.query), e.num_ways) for e in episodes}
    if len(shapes) != 1:
        raise ValueError('All episodes of a batch must have the same way, '
                         f'shot and query counts; got {sorted(shapes)}.')
    return episodes


def pack_predictions(logits: Tensor, episodes: List[Episode],
                     data_samples: SampleList) -> SampleList:
    """Query data samples with ``pred_score`` (softmax over the episode's N
    classes) and ``pred_label``.

    Args:
        logits (Tensor): Shape (E, N*Q, N).
        episodes (list[Episode]): Where each episode's queries are.
        data_samples (list[ActionDataSample]): All videos of the batch.
    """
    scores = logits.float().softmax(dim=-1).cpu()
    out = []
    for episode, episode_scores in zip(episodes, scores):
        for pos, score in zip(episode.query, episode_scores):
            sample = data_samples[pos]
            if not isinstance(sample, ActionDataSample):
                sample = ActionDataSample(metainfo=dict(sample.metainfo))
            sample.set_pred_score(score)
            sample.set_pred_label(score.argmax())
            out.append(sample)
    return out


@MODELS.register_module()
class FewShotRecognizer(BaseModel):
    """A few-shot action recognizer: a frame encoder and a few-shot head,
    with an optional frozen text tower and video-text loss.

    Every frame goes through the ``backbone`` (features (V, T, D), or
    spatial maps (V, T, C, H, W) for heads that ask for them); the ``head``
    turns each episode's support and query features into logits over its N
    classes and computes its losses. A method without text (OTAM, TRX, ...)
    is a config with only these two parts. With a ``text_encoder`` (a CLIP
    text tower), class names are encoded once per list of names; heads with
    ``uses_text`` receive each support video's class-text token, and
    ``loss_text`` adds a video-text loss over all training classes.

    Class names come from the datasets' metainfo: ``ClassNamesHook`` (in
    mmfsar's ``default_hooks``) calls :meth:`set_class_names` with the
    training split's names before training (``mode='train'``) and with the
    validation or test split's names before evaluating (``mode='eval'``).
    Text features are not saved; the text tower is.

    Args:
        backbone (dict): Frame encoder, e.g. ``OpenCLIPVisual`` or
            ``ResNetFrames``.
        head (dict): A ``BaseFewShotHead``.
        text_encoder (dict, optional): Text tower, e.g.
            ``OpenCLIPTextEncoder``. Defaults to None.
        loss_text (dict, optional): Video-text loss on mean frame features,
            e.g. ``VideoTextLoss``; needs ``text_encoder``. Defaults to None.
        separate_bn_batches (bool): In training, encode each episode's
            support and query videos in separate backbone calls, so that
            BatchNorm statistics are per set as in the released code.
            Defaults to True.
        partial_load (bool | Sequence[str]): Load checkpoints that lack all
            weights of some parts of the model (True: any part; or the
            names of the parts, e.g. ``['head']`` to initialise only the
            backbone from a checkpoint). Defaults to False: such a
            checkpoint is refused, naming the parts it lacks.
        data_preprocessor (dict, optional): Defaults to an
            ``ActionDataPreprocessor`` with ``format_shape='NCHW'``.
    """
    #: Config keys to check when a checkpoint does not fit a part.
    _CONFIG_HINTS = dict(
        backbone='model.backbone',
        text_encoder='model.text_encoder (model_name / model_cfg)',
        head='model.head',
        loss_text='model.loss_text')

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 text_encoder: OptConfigType = None,
                 loss_text: OptConfigType = None,
                 separate_bn_batches: bool = True,
                 partial_load: Union[bool, Sequence[str]] = False,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ActionDataPreprocessor', format_shape='NCHW')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # Built in this order so that random initialisation stays that of
        # earlier mmfsar versions for the same config.
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(
            text_encoder) if text_encoder is not None else None
        self.head = MODELS.build(head)
        if loss_text is not None and self.text_encoder is None:
            raise ValueError('model.loss_text needs model.text_encoder: the '
                             'video-text loss compares videos with class '
                             'texts.')
        if getattr(self.head, 'uses_text', False) and \
                self.text_encoder is None:
            raise ValueError(
                f'model.head ({type(self.head).__name__}) takes class-text '
                'tokens; configure model.text_encoder.')
        self.loss_text = MODELS.build(
            loss_text) if loss_text is not None else None
        self.separate_bn_batches = separate_bn_batches
        self.partial_load = partial_load
        self._check_dims()
        self._class_names: Dict[str, Tuple[str, ...]] = {}
        self._text_banks: Dict[Tuple[str, ...], Tensor] = {}

    def _check_dims(self) -> None:
        dims = dict(backbone=getattr(self.backbone, 'out_channels', None))
        if self.text_encoder is not None:
            dims['text_encoder'] = self.text_encoder.out_channels
        dims['head'] = getattr(self.head, 'in_channels', None)
        known = {k: v for k, v in dims.items() if v is not None}
        if len(set(known.values())) > 1:
            raise ValueError('Feature dimensions disagree: ' +
                             ', '.join(f'{k}: {v}' for k, v in known.items()) +
                             ' (set model.head.in_channels to the '
                             "backbone's output dimension).")

    @property
    def with_text(self) -> bool:
        """Whether the model has a text tower."""
        return self.text_encoder is not None

    # ------------------------------------------------------------ checkpoints
    def _allowed_missing(self, part: str) -> bool:
        if isinstance(self.partial_load, bool):
            return self.partial_load
        return part in self.partial_load

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Refuse a checkpoint that does not fit the config, naming the key.

        Without this, mmengine's non-strict loading would only warn and
        leave mismatched weights (another backbone, head width, no text
        tower) or whole missing parts randomly initialised.
        """
        own = {prefix + k: v for k, v in self.state_dict().items()}
        if not any(key in state_dict for key in own):
            raise ValueError(
                f'The checkpoint holds none of the {type(self).__name__} '
                f'weights (e.g. {next(iter(own))!r}); is it a checkpoint of '
                'this model?')
        parts: Dict[str, List[str]] = {}
        for key in own:
            parts.setdefault(key[len(prefix):].split('.')[0], []).append(key)
        for part, keys in parts.items():
            hint = self._CONFIG_HINTS.get(part, f'model.{part}')
            if any(key in state_dict for key in keys):
                continue
            if self._allowed_missing(part):
                continue
            extra = ''
            if part == 'text_encoder':
                extra = (' mmfsar checkpoints carry the frozen text tower, '
                         'which encodes the class names at test time '
                         'without downloading CLIP.')
            raise ValueError(
                f'The checkpoint has no weights of {part!r} (none of the '
                f'{len(keys)} keys such as {keys[0]!r}), so {hint} would '
                f'stay randomly initialised.{extra} Check {hint}, or set '
                f"model.partial_load=['{part}'] to load the rest anyway.")
        for key, value in own.items():
            if key not in state_dict:
                continue
            shape = tuple(state_dict[key].shape)
            if shape != tuple(value.shape):
                part = key[len(prefix):].split('.')[0]
                hint = self._CONFIG_HINTS.get(part, f'model.{part}')
                raise ValueError(
                    f'Checkpoint key {key!r} has shape {shape} but the '
                    f'config builds {tuple(value.shape)}: check {hint}.')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------ text
    def set_class_names(self, class_names: Sequence[str], mode: str) -> None:
        """Tell the model the classes of the training or evaluation split.

        Args:
            class_names (Sequence[str]): Line i is the name of class id i.
            mode (str): ``'train'`` or ``'eval'``.
        """
        if mode not in ('train', 'eval'):
            raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
        names = tuple(class_names)
        self._class_names[mode] = names
        if self.with_text:
            self.text_bank(names)

    def class_names(self, mode: str) -> Tuple[str, ...]:
        """The class names set for ``mode``."""
        if mode not in self._class_names:
            raise RuntimeError(
                f'{type(self).__name__} has no {mode} class names. Keep '
                "mmfsar's ClassNamesHook in default_hooks (configs/_base_/"
                'default_runtime.py), or call '
                f'model.set_class_names(names, mode={mode!r}) first.')
        return self._class_names[mode]

    def text_bank(self, class_names: Sequence[str]) -> Tensor:
        """Text features of ``class_names``, shape (C, D), computed once."""
        if not self.with_text:
            raise RuntimeError(f'{type(self).__name__} has no text_encoder.')
        key = tuple(class_names)
        device = self.text_encoder.device
        bank = self._text_banks.get(key)
        if bank is None or bank.device != device:
            bank = self.text_encoder(key)
            self._text_banks[key] = bank
        return bank

    def text_logits(self, video_feats: Tensor,
                    class_names: Sequence[str]) -> Tensor:
        """Zero-shot logits of videos against class names, from the text
        tower alone (no support video): the cosine of each video's feature
        with each class text (``eps`` 0.01 added to the product of norms),
        times the video-text loss's learned scale when the model has one.

        Args:
            video_feats (Tensor): Mean frame features, shape (V, D).
            class_names (Sequence[str]): C names.

        Returns:
            Tensor: Shape (V, C).
        """
        if video_feats.dim() != 2:
            raise ValueError('text_logits takes one feature per video, '
                             f'shape (V, D); got {tuple(video_feats.shape)} '
                             '(spatial features have no text counterpart).')
        bank = self.text_bank(class_names).to(video_feats.dtype)
        if hasattr(self.loss_text, 'logits'):
            return self.loss_text.logits(video_feats, bank)
        return cosine_similarity_eps(video_feats, bank)

    def _support_text(self, class_ids: Tensor, mode: str,
                      dtype: torch.dtype) -> Optional[Tensor]:
        if not getattr(self.head, 'uses_text', False):
            return None
        bank = self.text_bank(self.class_names(mode)).to(dtype)
        return bank[class_ids.to(bank.device)]

    # -------------------------------------------------------------- features
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Per-frame features (V, T, ...) of videos (V, T, 3, H, W)."""
        return self.backbone(inputs)

    def _episode_features(self, inputs: Tensor,
                          episodes: List[Episode]) -> Tensor:
        if not (self.training and self.separate_bn_batches):
            return self.extract_feat(inputs)
        parts, order = [], []
        for episode in episodes:
            for positions in (episode.support, episode.query):
                parts.append(self.extract_feat(inputs[positions]))
                order.extend(positions)
        feats = torch.cat(parts)
        inverse = torch.empty_like(torch.as_tensor(order))
        inverse[torch.as_tensor(order)] = torch.arange(len(order))
        return feats[inverse]

    @staticmethod
    def _gather(values: Tensor, episodes: List[Episode], role: str) -> Tensor:
        index = torch.as_tensor([getattr(e, role) for e in episodes],
                                device=values.device)
        return values[index]

    def episode_logits(self, support: Tensor, support_labels: Tensor,
                       support_class_ids: Tensor, query: Tensor, num_ways: int,
                       mode: str) -> Tensor:
        """Logits of episodes from per-frame features.

        Args:
            support (Tensor): Shape (E, N*K, T, ...).
            support_labels (Tensor): Episode labels, shape (E, N*K).
            support_class_ids (Tensor): Class ids within the split's class
                names, shape (E, N*K).
            query (Tensor): Shape (E, N*Q, T, ...).
            num_ways (int): N.
            mode (str): Which class names to take text from, ``'train'`` or
                ``'eval'``.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        text = self._support_text(support_class_ids, mode, support.dtype)
        return self.head(
            support, support_labels, query, num_ways, support_text=text)

    @torch.no_grad()
    def video_tokens(self,
                     feats: Tensor,
                     class_ids: Tensor,
                     mode: str = 'eval') -> Dict[str, Tensor]:
        """What the head computes per video, independently of the episode
        (see ``BaseFewShotHead.video_tokens``); for the cached evaluation.

        Args:
            feats (Tensor): Features of videos, shape (V, T, ...).
            class_ids (Tensor): Class id of each video, shape (V, ).
            mode (str): Which class names to take text from. Defaults to
                ``'eval'``.

        Returns:
            dict[str, Tensor]: One row per video in every value.
        """
        if self.training:
            raise RuntimeError('video_tokens is for evaluation: in training '
                               'mode dropout makes every use different.')
        text = self._support_text(class_ids, mode, feats.dtype)
        return self.head.video_tokens(feats, text)

    def episode_logits_from_tokens(self, tokens: Dict[str, Tensor],
                                   support: Tensor, support_labels: Tensor,
                                   query: Tensor, num_ways: int) -> Tensor:
        """Logits of episodes from :meth:`video_tokens`.

        Args:
            tokens (dict[str, Tensor]): Tokens of V videos.
            support (Tensor): Rows of the support videos in ``tokens``,
                shape (E, N*K).
            support_labels (Tensor): Episode labels, shape (E, N*K).
            query (Tensor): Rows of the query videos, shape (E, N*Q).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N), equal to :meth:`episode_logits` on
            the same videos.
        """
        return self.head.episode_logits(tokens, support, support_labels, query,
                                        num_ways)

    # ---------------------------------------------------------------- modes
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[Dict, SampleList, Tensor]:
        """``'loss'``: a dict of losses and the episode accuracy;
        ``'predict'``: one data sample per query with scores over its
        episode's N classes; ``'tensor'``: per-frame features (V, T, ...).

        Args:
            inputs (Tensor): Videos after the data preprocessor, shape
                (V, T, 3, H, W), whole episodes one after another.
            data_samples (list[ActionDataSample]): One per video, with the
                episode label as ``gt_label`` and ``episode_idx``,
                ``is_query``, ``class_id`` and ``num_ways`` in metainfo.
        """
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def _labels(self, data_samples: SampleList,
                device: torch.device) -> Tuple[Tensor, Tensor]:
        labels = torch.stack([s.gt_label for s in data_samples]).view(-1)
        class_ids = torch.as_tensor(
            [s.metainfo['class_id'] for s in data_samples])
        return labels.to(device), class_ids.to(device)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The head's losses (few-shot cross-entropy and any auxiliary
        terms), plus the weighted video-text loss when configured."""
        episodes = split_episodes(data_samples)
        feats = self._episode_features(inputs, episodes)
        labels, class_ids = self._labels(data_samples, feats.device)
        names = self.class_names('train')
        if int(class_ids.max()) >= len(names):
            raise ValueError(
                f'class_id {int(class_ids.max())} is out of range for the '
                f'{len(names)} training class names.')
        support_class_ids = self._gather(class_ids, episodes, 'support')
        extra = dict(
            support_class_ids=support_class_ids,
            query_class_ids=self._gather(class_ids, episodes, 'query'),
            num_classes=len(names))
        text = self._support_text(support_class_ids, 'train', feats.dtype)
        if text is not None:
            extra['support_text'] = text
        if getattr(self.head, 'uses_inputs', False):
            extra['support_inputs'] = self._gather(inputs, episodes, 'support')
            extra['query_inputs'] = self._gather(inputs, episodes, 'query')
        losses = self.head.loss(
            self._gather(feats, episodes, 'support'),
            self._gather(labels, episodes, 'support'),
            self._gather(feats, episodes, 'query'),
            self._gather(labels, episodes, 'query'), episodes[0].num_ways,
            **extra)
        if self.loss_text is not None:
            bank = self.text_bank(names)
            losses['loss_text'] = self.loss_text(
                feats.mean(dim=1), bank, class_ids)
        return losses

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """Scores (softmax over N) and labels for every query video."""
        episodes = split_episodes(data_samples)
        feats = self.extract_feat(inputs)
        labels, class_ids = self._labels(data_samples, feats.device)
        logits = self.episode_logits(
            self._gather(feats, episodes, 'support'),
            self._gather(labels, episodes, 'support'),
            self._gather(class_ids, episodes, 'support'),
            self._gather(feats, episodes, 'query'), episodes[0].num_ways,
            'eval')
        return pack_predictions(logits, episodes, data_samples)
