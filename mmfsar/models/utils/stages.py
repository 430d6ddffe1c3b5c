# Copyright (c) mmfsar contributors. All rights reserved.
"""Frozen stages and frozen BatchNorm for frame backbones."""
from typing import List, Union

from torch import nn

Stage = Union[nn.Module, List[nn.Module]]


def freeze_stages(stages: List[Stage], frozen_stages: int, name: str) -> None:
    """Put the stem and the first ``frozen_stages`` stages in eval mode and
    stop their gradients.

    Args:
        stages (list): The stem, then each stage (a module or a list of
            modules).
        frozen_stages (int): How many stages after the stem to freeze; -1
            freezes nothing, 0 only the stem.
        name (str): The backbone's name, for the error message.
    """
    if frozen_stages < 0:
        return
    if frozen_stages >= len(stages):
        raise ValueError(f'backbone.frozen_stages={frozen_stages} but {name} '
                         f'has {len(stages) - 1} stages.')
    for stage in stages[:frozen_stages + 1]:
        for module in stage if isinstance(stage, list) else [stage]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False


def eval_batchnorms(module: nn.Module) -> None:
    """Keep every BatchNorm of ``module`` in eval mode (``norm_eval``)."""
    for sub in module.modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            sub.eval()
