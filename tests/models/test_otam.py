# Copyright (c) mmfsar contributors. All rights reserved.
import math

import pytest
import torch

from mmfsar.models import cosine_similarity_eps, otam_distance
from mmfsar.models.utils import (cross_cosine_similarity_eps,
                                 otam_distance_reference, otam_one_direction)


def naive_otam(dists, lbda):
    """OTAM written cell by cell from docs/method.md with Python floats."""
    rows, cols = len(dists), len(dists[0])
    d = [[0.0] + list(r) + [0.0] for r in dists]
    c = [[0.0] * (cols + 2) for _ in range(rows)]

    def smin(*xs):
        return -lbda * math.log(sum(math.exp(-x / lbda) for x in xs))

    for m in range(1, cols + 2):
        c[0][m] = d[0][m] + c[0][m - 1]
    for l in range(1, rows):  # noqa: E741
        c[l][1] = d[l][1] + smin(c[l - 1][0], c[l - 1][1], c[l][0])
        for m in range(2, cols + 1):
            c[l][m] = d[l][m] + smin(c[l - 1][m - 1], c[l][m - 1])
        c[l][cols + 1] = smin(c[l - 1][cols], c[l - 1][cols + 1], c[l][cols])
    return c[rows - 1][cols + 1]


@pytest.mark.parametrize('shape', [(8, 8), (5, 8), (8, 3), (1, 6), (6, 1),
                                   (1, 1), (2, 2)])
@pytest.mark.parametrize('lbda', [0.5, 0.1])
def test_otam_matches_naive(shape, lbda):
    torch.manual_seed(sum(shape))
    dists = torch.rand(4, *shape, dtype=torch.float64) * 2
    fast = otam_distance(dists, lbda=lbda)
    one_way = otam_distance(dists, lbda=lbda, bidirectional=False)
    for i in range(4):
        forward = naive_otam(dists[i].tolist(), lbda)
        backward = naive_otam(dists[i].T.tolist(), lbda)
        assert abs(one_way[i].item() - forward) < 1e-5
        assert abs(fast[i].item() - (forward + backward)) < 1e-5


def test_otam_float32_batched_matches_loop_reference():
    torch.manual_seed(0)
    dists = torch.rand(25, 5, 8, 8) * 2
    fast = otam_distance(dists)
    ref = otam_distance_reference(dists)
    assert fast.shape == (25, 5)
    assert torch.allclose(fast, ref, atol=1e-5)


def test_otam_gradient_matches_reference():
    torch.manual_seed(1)
    base = torch.rand(3, 6, 7, dtype=torch.float64) * 2
    a = base.clone().requires_grad_()
    b = base.clone().requires_grad_()
    otam_distance(a).sum().backward()
    otam_distance_reference(b).sum().backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-8)


def test_otam_prefers_aligned_order():
    # A diagonal of zeros (same order) must cost less than the reverse.
    t = 8
    aligned = 1 - torch.eye(t)
    reversed_ = 1 - torch.eye(t).flip(-1)
    assert otam_one_direction(aligned) < otam_one_direction(reversed_)


def test_cosine_similarity_eps_formula():
    x = torch.tensor([[3.0, 4.0]])
    y = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    sims = cosine_similarity_eps(x, y)
    assert torch.allclose(sims, torch.tensor([[25 / 25.01, 8 / 10.01]]))


def test_cross_cosine_similarity_equals_broadcast_form():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, 16, dtype=torch.float64)  # 4 queries, 6 frames
    y = torch.randn(3, 5, 7, 16, dtype=torch.float64)  # 5 protos, 7 frames
    expected = cosine_similarity_eps(x[:, :, None], y[:, None])
    got = cross_cosine_similarity_eps(x, y)
    assert got.shape == (3, 4, 5, 6, 7)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_otam_stays_finite_for_large_distances():
    # The released formula exponentiates without a shift and returns inf
    # here; the rescaled recurrence stays finite, with finite gradients.
    dists = (torch.rand(3, 8, 8, dtype=torch.float64) * 200).requires_grad_()
    out = otam_distance(dists)
    assert torch.isfinite(out).all() and (out > 0).all()
    out.sum().backward()
    assert torch.isfinite(dists.grad).all()
