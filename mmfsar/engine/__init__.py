# Copyright (c) mmfsar contributors. All rights reserved.
from .hooks import AtomicCheckpointHook, RandomStateHook, SafeCheckpointHook
from .lr_schedule import CLIPFSARLR, clip_fsar_lr_factor
from .optim_wrapper import FiniteOptimWrapper
from .runner import EpisodicTestLoop, EpisodicTrainLoop

__all__ = [
    'AtomicCheckpointHook', 'CLIPFSARLR', 'clip_fsar_lr_factor',
    'EpisodicTestLoop', 'EpisodicTrainLoop', 'FiniteOptimWrapper',
    'RandomStateHook', 'SafeCheckpointHook'
]
