# Copyright (c) mmfsar contributors. All rights reserved.
from .backbones import OpenCLIPTextEncoder, OpenCLIPVisual, ResNetFrames
from .heads import (BaseFewShotHead, CrossTransformerHead, FewShotTSNHead,
                    HyRSMHead, MoLoHead, OTAMHead, PrototypeModulationHead,
                    TRXHead)
from .losses import VideoTextLoss
from .recognizers import CLIPFSAR, FewShotRecognizer
from .utils import cosine_similarity_eps, otam_distance

__all__ = [
    'BaseFewShotHead', 'CLIPFSAR', 'CrossTransformerHead', 'FewShotRecognizer',
    'FewShotTSNHead', 'HyRSMHead', 'MoLoHead', 'OTAMHead',
    'OpenCLIPTextEncoder', 'OpenCLIPVisual', 'PrototypeModulationHead',
    'ResNetFrames', 'TRXHead', 'VideoTextLoss', 'cosine_similarity_eps',
    'otam_distance'
]
