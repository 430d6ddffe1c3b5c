# Copyright (c) mmfsar contributors. All rights reserved.
import math
from itertools import combinations
from typing import Dict, Optional, Sequence

import torch
from mmaction.registry import MODELS
from mmaction.utils import ConfigType
from mmengine.logging import print_log
from torch import Tensor, nn

from .base_few_shot_head import VideoTokenHead, group_by_class


def sinusoid_encoding(num_frames: int, channels: int) -> Tensor:
    """The Transformer paper's positional encoding, shape (T, D): sine on
    even channels, cosine on odd ones, wavelengths from 2*pi to
    10000*2*pi."""
    position = torch.arange(num_frames)[:, None]
    freqs = torch.exp(
        torch.arange(0, channels, 2) * -(math.log(10000.0) / channels))
    table = torch.zeros(num_frames, channels)
    table[:, 0::2] = torch.sin(position * freqs)
    table[:, 1::2] = torch.cos(position * freqs[:channels // 2])
    return table


class TemporalCrossTransformer(nn.Module):
    """TRX's cross transformer for one tuple cardinality (e.g. pairs).

    Args:
        in_channels (int): Frame feature dimension D.
        num_frames (int): Frames per video T.
        cardinality (int): Frames per tuple.
        proj_channels (int): Key and value dimension P.
        dropout (float): Dropout on the features plus positional encoding.
        pe_scale (float): Scale of the positional encoding.
    """

    def __init__(self, in_channels: int, num_frames: int, cardinality: int,
                 proj_channels: int, dropout: float, pe_scale: float) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.cardinality = cardinality
        self.pe_scale = pe_scale
        # Recomputed, not saved: neither is learned.
        self.register_buffer(
            'pe',
            sinusoid_encoding(num_frames, in_channels) * pe_scale,
            persistent=False)
        self.register_buffer(
            'tuples',
            torch.tensor(list(combinations(range(num_frames), cardinality))),
            persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.k_linear = nn.Linear(cardinality * in_channels, proj_channels)
        self.v_linear = nn.Linear(cardinality * in_channels, proj_channels)
        self.norm_k = nn.LayerNorm(proj_channels)

    def tokens(self, feats: Tensor) -> Dict[str, Tensor]:
        """Keys and values of every frame tuple of each video.

        Args:
            feats (Tensor): Frame features, shape (V, T, D).

        Returns:
            dict[str, Tensor]: ``keys`` (layer-normalised) and ``values``,
            each of shape (V, S, P), S tuples in lexicographic order.
        """
        x = self.dropout(feats + self.pe)
        x = x[:, self.tuples].flatten(-2)
        return dict(
            keys=self.norm_k(self.k_linear(x)), values=self.v_linear(x))

    def logits(self, support: Dict[str, Tensor],
               query: Dict[str, Tensor]) -> Tensor:
        """Minus the distance of each query to its query-specific class
        prototypes.

        Args:
            support (dict[str, Tensor]): :meth:`tokens` of the support
                videos grouped by class, each of shape (E, N, K, S, P).
            query (dict[str, Tensor]): :meth:`tokens` of the queries, each
                of shape (E, N*Q, S, P).

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        num_tuples, channels = query['keys'].shape[-2:]
        scores = torch.einsum('eqip,enkjp->eqinkj', query['keys'],
                              support['keys']) / math.sqrt(channels)
        # Each query tuple attends over all tuples of all shots of a class.
        attn = scores.flatten(-2).softmax(dim=-1).view_as(scores)
        protos = torch.einsum('eqinkj,enkjp->eqnip', attn, support['values'])
        # The norm, then squared, as released: float32-identical logits.
        dist = torch.linalg.vector_norm(
            query['values'].unsqueeze(2) - protos, dim=(-2, -1)).square()
        return -dist / num_tuples

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Accept weights saved by the released ``CNN_TRX``: its ``norm_v``
        is never applied, so its weights are dropped (and logged); its
        ``tuples.<i>`` and ``pe.pe`` are recomputed here, and must equal
        this module's."""
        unused = [k for k in state_dict if k.startswith(prefix + 'norm_v.')]
        for key in unused:
            del state_dict[key]
        saved = [k for k in state_dict if k.startswith(prefix + 'tuples.')]
        if saved:
            tuples = [state_dict.pop(k) for k in saved]
            order = sorted(
                range(len(saved)),
                key=lambda i: int(saved[i].rsplit('.', 1)[1]))
            tuples = [tuples[i].long().view(-1).cpu() for i in order]
            if len(tuples) != len(self.tuples) or not torch.equal(
                    torch.stack(tuples), self.tuples.cpu()):
                raise ValueError(
                    f'Checkpoint keys {prefix}tuples.* hold '
                    f'{len(tuples)} frame tuples that are not the '
                    f'{self.cardinality}-frame tuples of {self.num_frames} '
                    'frames this head builds: check head.num_frames.')
        pe = state_dict.pop(prefix + 'pe.pe', None)
        if pe is not None:
            pe = pe.reshape(-1, pe.shape[-1])[:self.num_frames]
            if pe.shape != self.pe.shape or not torch.allclose(
                    pe.to(self.pe), self.pe, atol=1e-6):
                raise ValueError(
                    f'Checkpoint key {prefix}pe.pe is not the positional '
                    f'encoding this head builds: check head.pe_scale '
                    f'({self.pe_scale}) and head.num_frames '
                    f'({self.num_frames}).')
        if unused:
            print_log(
                f'Ignored {len(unused)} checkpoint keys of the released '
                f'TRX that it never applies: {unused}.',
                logger='current')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


@MODELS.register_module()
class TRXHead(VideoTokenHead):
    """Temporal-relational cross transformers (TRX, Perrett et al., CVPR
    2021), as the CLIP-FSAR authors' ``CNN_TRX`` computes them.

    For each tuple cardinality (pairs and triples by default), every video
    gets a scaled sinusoidal positional encoding added to its frames (then
    dropout), and every ordered frame tuple, its frames' features
    concatenated, is projected to a key (then LayerNorm) and a value. Each
    query tuple attends, with a softmax over all tuples of all shots of a
    class together, to the class's support values: a query-specific
    prototype. The logit is minus the squared distance between the query's
    values and that prototype, summed over tuples and divided by their
    number; the logits of the cardinalities are averaged. There is no
    temperature.

    Unlike the released code, logit column ``n`` is episode label ``n``
    whatever the configured way (the same logits for labels 0..N-1), the
    unused ``norm_v`` is not built, and the tuples are not saved. Weights
    saved by the released code load all the same: see
    :meth:`TemporalCrossTransformer._load_from_state_dict`.

    The cached evaluation keeps every video's tuple keys and values,
    ``sum(S) * 2 * P`` numbers per video (84 tuples, 193,536 floats for
    T=8, P=1152).

    Args:
        in_channels (int): Frame feature dimension D. Defaults to 2048
            (ResNet-50).
        num_frames (int): Frames per video T. Defaults to 8.
        cardinalities (Sequence[int]): Tuple sizes. Defaults to (2, 3).
        proj_channels (int): Key and value dimension P. Defaults to 1152.
        dropout (float): Dropout on the features plus positional encoding.
            Defaults to 0.1.
        pe_scale (float): Scale of the positional encoding. Defaults to 0.1.
        loss_cls (dict): Loss on the query logits.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 num_frames: int = 8,
                 cardinalities: Sequence[int] = (2, 3),
                 proj_channels: int = 1152,
                 dropout: float = 0.1,
                 pe_scale: float = 0.1,
                 loss_cls: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(loss_cls=loss_cls, init_cfg=init_cfg)
        bad = [c for c in cardinalities if not 1 <= c <= num_frames]
        if bad or not cardinalities:
            raise ValueError(
                f'head.cardinalities={tuple(cardinalities)} must be tuple '
                f'sizes between 1 and head.num_frames={num_frames}.')
        self.in_channels = in_channels
        self.num_frames = num_frames
        self.transformers = nn.ModuleList([
            TemporalCrossTransformer(in_channels, num_frames, c, proj_channels,
                                     dropout, pe_scale) for c in cardinalities
        ])

    def tokens(self, feats: Tensor) -> Dict[str, Tensor]:
        """Every video's tuple keys and values, for each cardinality.

        Args:
            feats (Tensor): Frame features, shape (V, T, D).

        Returns:
            dict[str, Tensor]: ``keys<i>`` and ``values<i>`` for the i-th
            cardinality, each of shape (V, S_i, P).
        """
        if feats.dim() != 3 or feats.shape[1] != self.num_frames:
            raise ValueError(
                f'TRXHead takes frame features (V, T={self.num_frames}, D) '
                f'(head.num_frames), got shape {tuple(feats.shape)}.')
        tokens = {}
        for i, transformer in enumerate(self.transformers):
            for key, value in transformer.tokens(feats).items():
                tokens[f'{key}{i}'] = value
        return tokens

    def logits_from_tokens(self, support: Dict[str,
                                               Tensor], support_labels: Tensor,
                           query: Dict[str, Tensor], num_ways: int) -> Tensor:
        """Mean over cardinalities of minus the tuple distance to the
        query-specific prototypes.

        Args:
            support (dict[str, Tensor]): :meth:`tokens` of the support
                videos, each of shape (E, N*K, S_i, P); every class of an
                episode has the same number of shots.
            support_labels (Tensor): Shape (E, N*K).
            query (dict[str, Tensor]): :meth:`tokens` of the queries, each
                of shape (E, N*Q, S_i, P).
            num_ways (int): N.

        Returns:
            Tensor: Shape (E, N*Q, N).
        """
        logits = []
        for i, transformer in enumerate(self.transformers):
            keys, values = f'keys{i}', f'values{i}'
            logits.append(
                transformer.logits(
                    dict(
                        keys=group_by_class(support[keys], support_labels,
                                            num_ways),
                        values=group_by_class(support[values], support_labels,
                                              num_ways)),
                    dict(keys=query[keys], values=query[values])))
        return torch.stack(logits).mean(dim=0)

    def elements_per_episode(self, num_support: int, num_query: int,
                             shapes: Dict[str, torch.Size]) -> int:
        """The attention (N*Q, S, N*K, S) or prototypes (N*Q, N, S, P)."""
        return max(num_query * num_support * shape[0] * max(shape)
                   for shape in shapes.values())
