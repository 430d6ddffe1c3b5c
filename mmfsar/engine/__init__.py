# Copyright (c) mmfsar contributors. All rights reserved.
from .hooks import ClassNamesHook, RandomStateHook, SafeCheckpointHook
from .optim_wrapper import FiniteOptimWrapper
from .runner import EpisodicTestLoop, EpisodicTrainLoop

__all__ = [
    'ClassNamesHook', 'EpisodicTestLoop',
    'EpisodicTrainLoop', 'FiniteOptimWrapper', 'RandomStateHook',
    'SafeCheckpointHook'
]
