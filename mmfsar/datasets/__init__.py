# Copyright (c) mmfsar contributors. All rights reserved.
from .collate import episode_collate
from .episodic_dataset import (EpisodicDataset, VideoLoadError, first_use,
                               is_random_pipeline, local_seed)
from .samplers import EpisodeSampler
from .transforms import FewShotSampleFrames, VideoColorJitter

__all__ = [
    'EpisodicDataset', 'EpisodeSampler', 'FewShotSampleFrames',
    'VideoColorJitter', 'VideoLoadError', 'episode_collate', 'first_use',
    'is_random_pipeline', 'local_seed'
]
