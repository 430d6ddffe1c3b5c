# Copyright (c) mmfsar contributors. All rights reserved.
import itertools

import numpy as np
import pytest
import torch

from mmfsar.models.utils import otam_alignment, otam_one_direction


def path_cost(dists, path):
    return sum(dists[q][s] for q, s in path)


def all_paths(rows, cols):
    """Every path the padded OTAM recurrence allows, as (query, support)
    pairs: each support frame once, in order, with the query frame rising
    by 0 or 1 between support frames, except at the first support frame
    (any number of query frames in a row), and skipping query frames only
    before the first and after the last support frame."""
    paths = []
    for start in range(rows):
        for steps in itertools.product((0, 1), repeat=cols - 1):
            rows_of = np.concatenate([[start], start + np.cumsum(steps)])
            if rows_of[-1] >= rows:
                continue
            for first_run in range(start + 1):
                head = [(q, 0) for q in range(start - first_run, start)]
                paths.append(head + [(int(q), s)
                                     for s, q in enumerate(rows_of)])
    return paths


def test_diagonal_cost_gives_the_diagonal():
    dists = 1 - torch.eye(6)
    assert otam_alignment(dists) == [(i, i) for i in range(6)]


def test_a_hand_made_path_with_repeats_is_found():
    path = [(1, 0), (2, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    dists = np.ones((7, 6))
    for q, s in path:
        dists[q, s] = 0
    # Query frames 0 and 6 are skipped through the padding columns.
    assert otam_alignment(dists) == path


@pytest.mark.parametrize('shape', [(3, 4), (4, 3), (4, 4), (1, 3), (3, 1),
                                   (2, 2)])
def test_the_path_is_the_cheapest_otam_allows(shape):
    """Against all paths by brute force; and OTAM's soft minimum over the
    P paths lies between its cost minus lbda * log(P) and its cost."""
    rng = np.random.default_rng(sum(shape))
    paths = all_paths(*shape)
    for _ in range(5):
        dists = rng.uniform(0, 2, size=shape)
        path = otam_alignment(dists)
        assert path in paths
        cost = path_cost(dists, path)
        assert cost == pytest.approx(min(path_cost(dists, p) for p in paths))
        lbda = 0.01
        soft = float(otam_one_direction(torch.as_tensor(dists), lbda))
        assert cost - lbda * np.log(len(paths)) - 1e-9 <= soft <= cost + 1e-9


def test_flat_costs_do_not_decide_the_path():
    """Nearly equal distances (as in a barely trained model) with one
    cheap row: the path takes that row, whatever the soft-min would weigh
    by the number of paths."""
    dists = np.full((8, 8), 0.10)
    dists[3] = 0.04
    assert otam_alignment(dists) == [(3, s) for s in range(8)]


def test_errors():
    with pytest.raises(ValueError, match=r'one \(T_q, T_s\) matrix'):
        otam_alignment(torch.rand(2, 3, 3))
