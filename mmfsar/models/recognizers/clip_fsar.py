# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction.utils import ConfigType, OptConfigType, SampleList
from mmengine.model import BaseModel
from torch import Tensor


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


@MODELS.register_module()
class CLIPFSAR(BaseModel):
    """CLIP-FSAR: CLIP-guided prototype modulating for few-shot action
    recognition (Wang et al., IJCV 2023).

    Every frame goes through the CLIP image tower (``backbone``); class names
    go once through the frozen CLIP text tower (``text_encoder``). The
    ``head`` modulates support videos with their class text into prototypes
    and matches queries with bidirectional OTAM; ``loss_text`` pulls each
    video's mean frame feature toward its class text over all training
    classes.

    The model learns which class names it works with from the loops:
    :meth:`set_class_names` with ``mode='train'`` gives the training classes
    (video-text loss and support text tokens in training), ``mode='eval'``
    the validation or test classes. Text features are computed once per list
    of names and cached; they are not saved, the text tower is.

    Args:
        backbone (dict): Image tower, e.g. ``OpenCLIPVisual``.
        text_encoder (dict): Text tower, e.g. ``OpenCLIPTextEncoder``.
        head (dict): ``PrototypeModulationHead``.
        loss_text (dict): ``VideoTextLoss``.
        separate_bn_batches (bool): In training, encode each episode's
            support and query videos in separate backbone calls, so that
            BatchNorm statistics are per set as in the released code.
            Defaults to True.
        data_preprocessor (dict, optional): Defaults to an
            ``ActionDataPreprocessor`` with CLIP mean and std.
    """

    def __init__(self,
                 backbone: ConfigType,
                 text_encoder: ConfigType,
                 head: ConfigType,
                 loss_text: ConfigType = dict(type='VideoTextLoss'),
                 separate_bn_batches: bool = True,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptConfigType = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ActionDataPreprocessor',
                mean=[122.771, 116.746, 104.094],
                std=[68.501, 66.632, 70.323],
                format_shape='NCHW')
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.head = MODELS.build(head)
        self.loss_text = MODELS.build(loss_text)
        self.separate_bn_batches = separate_bn_batches
        dims = dict(
            backbone=self.backbone.out_channels,
            text_encoder=self.text_encoder.out_channels,
            head=self.head.in_channels)
        if len(set(dims.values())) != 1:
            raise ValueError('Feature dimensions disagree: ' +
                             ', '.join(f'{k}: {v}' for k, v in dims.items()) +
                             ' (set head.in_channels to the CLIP embed dim).')
        self._class_names: Dict[str, Tuple[str, ...]] = {}
        self._text_banks: Dict[Tuple[str, ...], Tensor] = {}

    # ------------------------------------------------------------ checkpoints
    _CONFIG_HINTS = dict(
        backbone='model.backbone (model_name / model_cfg)',
        text_encoder='model.text_encoder (model_name / model_cfg)',
        head='model.head (in_channels / num_layers / ffn_channels)',
        loss_text='model.loss_text')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Refuse a checkpoint that does not fit the config, naming the key.

        Without this, mmengine's non-strict loading would only warn and
        leave mismatched weights (a different CLIP model, head width or no
        text tower) randomly initialised.
        """
        own = {prefix + k: v for k, v in self.state_dict().items()}
        if not any(key in state_dict for key in own):
            raise ValueError(
                'The checkpoint holds none of the CLIPFSAR weights (e.g. '
                f'{next(iter(own))!r}); is it a CLIP-FSAR checkpoint?')
        for key, value in own.items():
            part = key[len(prefix):].split('.')[0]
            hint = self._CONFIG_HINTS.get(part, f'model.{part}')
            if key not in state_dict:
                if part == 'text_encoder':
                    raise ValueError(
                        f'The checkpoint has no {key!r}: mmfsar checkpoints '
                        'carry the frozen text tower, which encodes the '
                        'class names at test time without downloading '
                        f'CLIP; check {hint}.')
                continue
            shape = tuple(state_dict[key].shape)
            if shape != tuple(value.shape):
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
        self.text_bank(names)

    def class_names(self, mode: str) -> Tuple[str, ...]:
        """The class names set for ``mode``."""
        if mode not in self._class_names:
            raise RuntimeError(
                f'CLIPFSAR has no {mode} class names. Run it through '
                "mmfsar's EpisodicTrainLoop / EpisodicTestLoop, or call "
                f"model.set_class_names(names, mode={mode!r}) first.")
        return self._class_names[mode]

    def text_bank(self, class_names: Sequence[str]) -> Tensor:
        """Text features of ``class_names``, shape (C, D), computed once."""
        key = tuple(class_names)
        device = self.text_encoder.device
        bank = self._text_banks.get(key)
        if bank is None or bank.device != device:
            bank = self.text_encoder(key)
            self._text_banks[key] = bank
        return bank

    # -------------------------------------------------------------- features
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Per-frame features (V, T, D) of videos (V, T, 3, H, W)."""
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

        The cached test loop calls this directly with stored features.

        Args:
            support (Tensor): Shape (E, N*K, T, D).
            support_labels (Tensor): Episode labels, shape (E, N*K).
            support_class_ids (Tensor): Class ids within the split's class
                names, shape (E, N*K).
            query (Tensor): Shape (E, N*Q, T, D).
            num_ways (int): N.
            mode (str): Which class names to take text from, ``'train'`` or
                ``'eval'``.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        bank = self.text_bank(self.class_names(mode)).to(support.dtype)
        text = bank[support_class_ids]
        return self.head(support, support_labels, query, text, num_ways)

    @torch.no_grad()
    def video_tokens(self,
                     feats: Tensor,
                     class_ids: Tensor,
                     mode: str = 'eval',
                     chunk_size: int = 1024) -> Dict[str, Tensor]:
        """What the head computes per video, independently of the episode.

        Out of training (no dropout) the Transformer sees one video at a
        time: a query's frames, or a support video's frames with its own
        class's text token. So each video's modulated frames are the same
        in every episode, and the cached evaluation computes them once per
        video instead of once per use. With ``merge_before`` the support
        side depends on the episode's shots and is left to
        :meth:`episode_logits_from_tokens`.

        Args:
            feats (Tensor): Per-frame features of videos, shape (V, T, D).
            class_ids (Tensor): Class id of each video, shape (V, ).
            mode (str): Which class names to take text from. Defaults to
                ``'eval'``.
            chunk_size (int): Videos per Transformer batch. Defaults to
                1024.

        Returns:
            dict[str, Tensor]: ``frames`` (V, T, D), ``text`` (V, D),
            ``query`` (V, T, D) and, unless ``merge_before``, ``support``
            (V, T, D).
        """
        if self.training:
            raise RuntimeError('video_tokens is for evaluation: in training '
                               'mode dropout makes every use different.')
        bank = self.text_bank(self.class_names(mode)).to(feats.dtype)
        text = bank[class_ids.to(bank.device)]

        def modulate(with_text: bool) -> Tensor:
            parts = []
            for start in range(0, len(feats), chunk_size):
                end = start + chunk_size
                parts.append(
                    self.head.modulate(feats[start:end],
                                       text[start:end] if with_text else None))
            return torch.cat(parts) if parts else feats.clone()

        tokens = dict(frames=feats, text=text, query=modulate(False))
        if not self.head.merge_before:
            tokens['support'] = modulate(True)
        return tokens

    def episode_logits_from_tokens(self, tokens: Dict[str, Tensor],
                                   support: Tensor, support_labels: Tensor,
                                   query: Tensor, num_ways: int) -> Tensor:
        """Logits of episodes from :meth:`video_tokens`.

        Args:
            tokens (dict[str, Tensor]): The output of :meth:`video_tokens`.
            support (Tensor): Positions of the support videos in
                ``tokens``, shape (E, N*K).
            support_labels (Tensor): Episode labels, shape (E, N*K).
            query (Tensor): Positions of the query videos, shape (E, N*Q).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N), equal to :meth:`episode_logits` on
            the same videos.
        """
        modulated = tokens['support'][support] if 'support' in tokens \
            else None
        protos = self.head.prototypes(tokens['frames'][support],
                                      support_labels, tokens['text'][support],
                                      num_ways, modulated)
        return self.head.match(protos, tokens['query'][query])

    # ---------------------------------------------------------------- modes
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[Dict, SampleList, Tensor]:
        """``'loss'``: a dict of losses and the episode accuracy;
        ``'predict'``: one data sample per query with scores over its
        episode's N classes; ``'tensor'``: per-frame features (V, T, D).

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
        """Few-shot cross-entropy plus the weighted video-text loss."""
        episodes = split_episodes(data_samples)
        feats = self._episode_features(inputs, episodes)
        labels, class_ids = self._labels(data_samples, feats.device)
        logits = self.episode_logits(
            self._gather(feats, episodes, 'support'),
            self._gather(labels, episodes, 'support'),
            self._gather(class_ids, episodes, 'support'),
            self._gather(feats, episodes, 'query'), episodes[0].num_ways,
            'train')
        query_labels = self._gather(labels, episodes, 'query')
        bank = self.text_bank(self.class_names('train'))
        if int(class_ids.max()) >= len(bank):
            raise ValueError(
                f'class_id {int(class_ids.max())} is out of range for the '
                f'{len(bank)} training class names.')
        with torch.no_grad():
            acc = (logits.argmax(-1) == query_labels).float().mean()
        return dict(
            loss_fsl=self.head.loss(logits, query_labels),
            loss_text=self.loss_text(feats.mean(dim=1), bank, class_ids),
            acc=acc)

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
