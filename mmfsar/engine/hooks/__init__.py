# Copyright (c) mmfsar contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .random_state_hook import RandomStateHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['AtomicCheckpointHook', 'RandomStateHook', 'SafeCheckpointHook']
