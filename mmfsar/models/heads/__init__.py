# Copyright (c) mmfsar contributors. All rights reserved.
from .base_few_shot_head import BaseFewShotHead, class_mean, episode_class_ids
from .hyrsm_head import (HyRSMHead, temporal_coherence_loss,
                         temporal_coherence_targets)
from .molo_head import MoLoHead, MotionDecoder
from .otam_head import OTAMHead
from .prototype_modulation_head import ModulationLayer, PrototypeModulationHead

__all__ = [
    'BaseFewShotHead', 'HyRSMHead', 'ModulationLayer', 'MoLoHead',
    'MotionDecoder', 'OTAMHead', 'PrototypeModulationHead', 'class_mean',
    'episode_class_ids', 'temporal_coherence_loss',
    'temporal_coherence_targets'
]
