# Copyright (c) mmfsar contributors. All rights reserved.
from .collate import episode_collate
from .episode_file import (EpisodeFileError, episode_record, read_episode_file,
                           write_episode_file)
from .episodic_dataset import (EpisodicDataset, VideoLoadError, first_use,
                               local_seed, stable_ids)
from .few_shot_video_dataset import AnnotationError, FewShotVideoDataset
from .pipeline_randomness import is_random_pipeline, random_transforms
from .samplers import EpisodeSampler
from .transforms import FewShotSampleFrames, VideoColorJitter

__all__ = [
    'AnnotationError', 'EpisodeFileError', 'EpisodeSampler', 'EpisodicDataset',
    'FewShotSampleFrames', 'FewShotVideoDataset', 'VideoColorJitter',
    'VideoLoadError', 'episode_collate', 'episode_record', 'first_use',
    'is_random_pipeline', 'local_seed', 'random_transforms',
    'read_episode_file', 'stable_ids', 'write_episode_file'
]
