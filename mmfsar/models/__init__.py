# Copyright (c) mmfsar contributors. All rights reserved.
from .backbones import OpenCLIPTextEncoder, OpenCLIPVisual, ResNetFrames
from .heads import (BaseFewShotHead, HyRSMHead, MoLoHead, OTAMHead,
                    PrototypeModulationHead)
from .losses import VideoTextLoss
from .recognizers import CLIPFSAR, FewShotRecognizer
from .utils import cosine_similarity_eps, otam_distance

__all__ = [
    'BaseFewShotHead', 'CLIPFSAR', 'FewShotRecognizer', 'HyRSMHead',
    'MoLoHead', 'OTAMHead', 'OpenCLIPTextEncoder', 'OpenCLIPVisual',
    'PrototypeModulationHead', 'ResNetFrames', 'VideoTextLoss',
    'cosine_similarity_eps', 'otam_distance'
]
