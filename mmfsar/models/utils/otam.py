# Copyright (c) mmfsar contributors. All rights reserved.
"""Ordered temporal alignment (OTAM) as pure, batched tensor functions.

The recurrence follows CLIP-FSAR's ``OTAM_cum_dist_v2`` (docs/method.md):
the support axis is padded with a zero-cost column on each side, row 0 is a
hard cumulative sum and every other cell adds its frame distance to a soft
minimum ``smin(a, b, ...) = -lbda * log(sum(exp(-x / lbda)))`` over its
allowed predecessors. The released code fills the cumulative matrix cell by
cell in Python; here every step is batched over all query-prototype pairs:

* column 1 and the last (padding) column are linear recurrences in the
  ``exp(-C / lbda)`` domain, so each is one ``logcumsumexp`` / ``logsumexp``;
* the middle columns depend only on the previous column, so the remaining
  ``T_s - 1`` steps are vectorised over every row, in the exp domain with a
  per-column rescaling.

This equals the released formula mathematically (which exponentiates
without any shift) and stays finite for any distances.
"""
import math
from typing import List, Tuple

import numpy as np
import torch
from torch import Tensor


def cosine_similarity_eps(x: Tensor, y: Tensor, eps: float = 0.01) -> Tensor:
    """Pairwise cosine similarity with ``eps`` added to the product of norms.

    This is CLIP-FSAR's ``cos_sim``: ``x . y / (|x| |y| + eps)``, used both
    for frame-to-frame distances and the video-text logits.

    Args:
        x (Tensor): Shape (..., M, D).
        y (Tensor): Shape (..., P, D); leading dims broadcast with ``x``.
        eps (float): Added to the product of norms. Defaults to 0.01.

    Returns:
        Tensor: Shape (..., M, P).
    """
    dots = x @ y.transpose(-1, -2)
    norms = x.norm(dim=-1).unsqueeze(-1) * y.norm(dim=-1).unsqueeze(-2)
    return dots / (norms + eps)


def cross_cosine_similarity_eps(x: Tensor,
                                y: Tensor,
                                eps: float = 0.01) -> Tensor:
    """Frame similarities of every sequence of ``x`` with every one of ``y``.

    Equals ``cosine_similarity_eps(x[..., :, None, :, :], y[..., None, :, :,
    :])`` but as one batched matrix product, without materialising the
    broadcast sequences.

    Args:
        x (Tensor): A sequences of L frames, shape (..., A, L, D).
        y (Tensor): B sequences of M frames, shape (..., B, M, D), the same
            leading dims as ``x``.
        eps (float): Added to the product of norms. Defaults to 0.01.

    Returns:
        Tensor: Shape (..., A, B, L, M).
    """
    (num_x, length), (num_y, width) = x.shape[-3:-1], y.shape[-3:-1]
    dots = x.flatten(-3, -2) @ y.flatten(-3, -2).transpose(-1, -2)
    dots = dots.unflatten(-1, (num_y, width)).unflatten(-3, (num_x, length))
    norms = (
        x.norm(dim=-1)[..., :, None, :, None] *
        y.norm(dim=-1)[..., None, :, None, :])
    return dots.transpose(-3, -2) / (norms + eps)


def otam_one_direction(dists: Tensor, lbda: float = 0.5) -> Tensor:
    """OTAM cumulative distance from the first to the last row of ``dists``.

    Args:
        dists (Tensor): Frame distances, shape (..., L, M): row ``l`` is a
            query frame, column ``m`` a support frame.
        lbda (float): Soft-min temperature. Defaults to 0.5.

    Returns:
        Tensor: The value ``C[L-1, M+1]`` of the padded recurrence, shape
        (...).
    """
    length, width = dists.shape[-2:]
    # Column 1: C[0,1] = D[0,1]; C[l,1] = D[l,1] + smin(0, C[l-1,1], 0).
    # With P = cumsum(D[:,1]) this solves to
    # C[l,1] = P[l] - lbda * logcumsumexp([0, log2 + P[0:l]/lbda])[l].
    prefix = dists[..., 0].cumsum(dim=-1)
    seq = torch.cat([
        torch.zeros_like(prefix[..., :1]),
        math.log(2.0) + prefix[..., :-1] / lbda
    ],
                    dim=-1)
    column = prefix - lbda * torch.logcumsumexp(seq, dim=-1)
    if width > 1:
        # Middle columns m = 2..M: row 0 is a hard sum, row l >= 1 takes
        # smin(C[l-1,m-1], C[l,m-1]). In the domain E = exp(-C / lbda) a
        # step is E[l,m] = exp(-D[l,m] / lbda) * (E[l-1,m-1] + E[l,m-1]);
        # E is kept rescaled to a maximum of 1 per column, with the scale
        # carried in log space, so nothing overflows or underflows as a
        # whole.
        tiny = torch.finfo(dists.dtype).tiny
        offset = column.amin(dim=-1, keepdim=True)
        scaled = torch.exp((offset - column) / lbda)
        log_scale = -offset / lbda
        for m in range(1, width):
            dist = dists[..., m]
            low = dist.amin(dim=-1, keepdim=True)
            weight = torch.exp((low - dist) / lbda)
            scaled = weight * torch.cat(
                [scaled[..., :1], scaled[..., :-1] + scaled[..., 1:]], dim=-1)
            peak = scaled.amax(dim=-1, keepdim=True).clamp_min(tiny)
            scaled = scaled / peak
            log_scale = log_scale + torch.log(peak) - low / lbda
        # Cells that underflowed cost (almost) infinitely much and get no
        # gradient.
        column = -lbda * (torch.log(scaled.clamp_min(tiny)) + log_scale)
    # Last (zero-cost) column: C[0,M+1] = C[0,M];
    # C[l,M+1] = smin(C[l-1,M], C[l-1,M+1], C[l,M]), whose exp-domain form
    # is a running sum, so C[L-1,M+1] = -lbda * logsumexp of its terms.
    if length == 1:
        return column[..., 0]
    pair_terms = torch.logaddexp(-column[..., :-1] / lbda,
                                 -column[..., 1:] / lbda)
    terms = torch.cat([-column[..., :1] / lbda, pair_terms], dim=-1)
    return -lbda * torch.logsumexp(terms, dim=-1)


def otam_distance(frame_dist: Tensor,
                  lbda: float = 0.5,
                  bidirectional: bool = True) -> Tensor:
    """Bidirectional OTAM distance of CLIP-FSAR.

    Args:
        frame_dist (Tensor): Frame distances ``1 - cos``, shape
            (..., T_q, T_s).
        lbda (float): Soft-min temperature. Defaults to 0.5 (the released
            CLIP-FSAR value; plain OTAM used 0.1).
        bidirectional (bool): Sum the query-to-support and support-to-query
            alignments (released default). Defaults to True.

    Returns:
        Tensor: OTAM distance, shape (...).
    """
    if not bidirectional:
        return otam_one_direction(frame_dist, lbda)
    transposed = frame_dist.transpose(-1, -2)
    if frame_dist.shape[-1] == frame_dist.shape[-2]:
        both = otam_one_direction(
            torch.stack([frame_dist, transposed], dim=0), lbda)
        return both[0] + both[1]
    return (otam_one_direction(frame_dist, lbda) +
            otam_one_direction(transposed, lbda))


def otam_distance_reference(frame_dist: Tensor,
                            lbda: float = 0.5,
                            bidirectional: bool = True) -> Tensor:
    """Cell-by-cell OTAM written directly from the recurrence in
    docs/method.md, the way the released code loops. Slow; for tests and
    benchmarks."""

    def one(dists: Tensor) -> Tensor:
        dists = torch.nn.functional.pad(dists, (1, 1))
        cum = torch.zeros_like(dists)
        rows, cols = dists.shape[-2:]
        for m in range(1, cols):
            cum[..., 0, m] = dists[..., 0, m] + cum[..., 0, m - 1]
        for l in range(1, rows):  # noqa: E741
            cum[..., l, 1] = dists[..., l, 1] - lbda * torch.log(
                torch.exp(-cum[..., l - 1, 0] / lbda) +
                torch.exp(-cum[..., l - 1, 1] / lbda) +
                torch.exp(-cum[..., l, 0] / lbda))
            for m in range(2, cols - 1):
                cum[..., l, m] = dists[..., l, m] - lbda * torch.log(
                    torch.exp(-cum[..., l - 1, m - 1] / lbda) +
                    torch.exp(-cum[..., l, m - 1] / lbda))
            cum[..., l, cols - 1] = dists[..., l, cols - 1] - lbda * torch.log(
                torch.exp(-cum[..., l - 1, cols - 2] / lbda) +
                torch.exp(-cum[..., l - 1, cols - 1] / lbda) +
                torch.exp(-cum[..., l, cols - 2] / lbda))
        return cum[..., -1, -1]

    out = one(frame_dist)
    if bidirectional:
        out = out + one(frame_dist.transpose(-1, -2))
    return out


def otam_alignment(frame_dist) -> List[Tuple[int, int]]:
    """The frame alignment behind one direction of OTAM.

    OTAM's distance is a soft minimum over every alignment path that its
    recurrence allows (:func:`otam_one_direction`), each path weighted by
    ``exp(-cost / lbda)``. This returns the path of largest weight, the
    cheapest one: the same recurrence with a hard minimum, filled cell by
    cell (float64) and walked back from its last cell through the cheapest
    predecessor. The temperature weights paths but does not change which
    is cheapest, so it is not an argument; as ``lbda`` goes to 0 the OTAM
    distance tends to this path's cost. (Walking back through the soft
    cumulative matrix instead would follow the cells with the most paths
    through them, not the cheapest.) Cells of the two zero-cost padding
    columns are dropped, so query frames that the alignment skips at the
    start or the end do not appear.

    Args:
        frame_dist (Tensor | np.ndarray): Frame distances ``1 - cos`` of
            one query (rows, T_q) against one support video or prototype
            (columns, T_s), shape (T_q, T_s).

    Returns:
        list[tuple[int, int]]: ``(query frame, support frame)`` pairs in
        temporal order. Every support frame appears, the first one with
        one or more query frames and each later one with one; from one
        support frame to the next the query frame stays or moves on by
        one.
    """
    if isinstance(frame_dist, Tensor):
        frame_dist = frame_dist.detach().cpu().double().numpy()
    dists = np.asarray(frame_dist, dtype=np.float64)
    if dists.ndim != 2 or 0 in dists.shape:
        raise ValueError('otam_alignment takes one (T_q, T_s) matrix, got '
                         f'shape {dists.shape}.')
    rows, cols = dists.shape[0], dists.shape[1] + 2
    padded = np.pad(dists, ((0, 0), (1, 1)))
    cum = np.zeros_like(padded)
    cum[0, 1:] = np.cumsum(padded[0, 1:])

    def predecessors(row: int, col: int) -> List[Tuple[int, int]]:
        if row == 0:
            return [(0, col - 1)]
        if col == 1 or col == cols - 1:
            return [(row - 1, col - 1), (row - 1, col), (row, col - 1)]
        return [(row - 1, col - 1), (row, col - 1)]

    for row in range(1, rows):
        for col in range(1, cols):
            cum[row,
                col] = padded[row, col] + min(cum[c]
                                              for c in predecessors(row, col))
    path, cell = [], (rows - 1, cols - 1)
    while cell[1] > 0:
        if cell[1] < cols - 1:
            path.append((cell[0], cell[1] - 1))
        options = predecessors(*cell)
        cell = options[int(np.argmin([cum[c] for c in options]))]
    return path[::-1]
