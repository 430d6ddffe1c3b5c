# Copyright (c) mmfsar contributors. All rights reserved.
from .hooks import (AtomicCheckpointHook, ClassNamesHook, RandomStateHook,
                    SafeCheckpointHook)
from .optim_wrapper import FiniteOptimWrapper
from .runner import EpisodicTestLoop, EpisodicTrainLoop

__all__ = [
    'AtomicCheckpointHook', 'ClassNamesHook', 'EpisodicTestLoop',
    'EpisodicTrainLoop', 'FiniteOptimWrapper', 'RandomStateHook',
    'SafeCheckpointHook'
]
