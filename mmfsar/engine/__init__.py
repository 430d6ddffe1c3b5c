# Copyright (c) mmfsar contributors. All rights reserved.
from .hooks import (AtomicCheckpointHook, ClassNamesHook, RandomStateHook,
                    SafeCheckpointHook)
from .optim_wrapper import FiniteAmpOptimWrapper, FiniteOptimWrapper
from .runner import EpisodicTestLoop, EpisodicTrainLoop, FewShotRunner

__all__ = [
    'AtomicCheckpointHook', 'ClassNamesHook', 'EpisodicTestLoop',
    'EpisodicTrainLoop', 'FewShotRunner', 'FiniteAmpOptimWrapper',
    'FiniteOptimWrapper', 'RandomStateHook', 'SafeCheckpointHook'
]
