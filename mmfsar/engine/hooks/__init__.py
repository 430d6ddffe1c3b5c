# Copyright (c) mmfsar contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .class_names_hook import ClassNamesHook, ensure_class_names_hook
from .random_state_hook import RandomStateHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'AtomicCheckpointHook', 'ClassNamesHook', 'RandomStateHook',
    'SafeCheckpointHook', 'ensure_class_names_hook'
]
