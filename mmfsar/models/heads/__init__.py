# Copyright (c) mmfsar contributors. All rights reserved.
from .base_few_shot_head import (BaseFewShotHead, VideoTokenHead, class_mean,
                                 episode_chunks, episode_class_ids,
                                 group_by_class)
from .cross_transformer_head import CrossTransformerHead
from .few_shot_tsn_head import FewShotTSNHead
from .hyrsm_head import (HyRSMHead, temporal_coherence_loss,
                         temporal_coherence_targets)
from .molo_head import MoLoHead, MotionDecoder
from .otam_head import OTAMHead
from .prototype_modulation_head import ModulationLayer, PrototypeModulationHead
from .trx_head import TemporalCrossTransformer, TRXHead

__all__ = [
    'BaseFewShotHead', 'CrossTransformerHead', 'FewShotTSNHead', 'HyRSMHead',
    'ModulationLayer', 'MoLoHead', 'MotionDecoder', 'OTAMHead',
    'PrototypeModulationHead', 'TRXHead', 'TemporalCrossTransformer',
    'VideoTokenHead', 'class_mean', 'episode_chunks', 'episode_class_ids',
    'group_by_class', 'temporal_coherence_loss', 'temporal_coherence_targets'
]
