# Copyright (c) mmfsar contributors. All rights reserved.
from .backbones import OpenCLIPTextEncoder, OpenCLIPVisual
from .heads import PrototypeModulationHead
from .losses import VideoTextLoss
from .recognizers import CLIPFSAR
from .utils import cosine_similarity_eps, otam_distance

__all__ = [
    'CLIPFSAR', 'OpenCLIPTextEncoder', 'OpenCLIPVisual',
    'PrototypeModulationHead', 'VideoTextLoss', 'cosine_similarity_eps',
    'otam_distance'
]
