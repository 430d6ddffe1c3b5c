# Copyright (c) mmfsar contributors. All rights reserved.
from .open_clip_text import OpenCLIPTextEncoder
from .open_clip_visual import OpenCLIPVisual
from .resnet_frames import ResNetFrames

__all__ = ['OpenCLIPVisual', 'OpenCLIPTextEncoder', 'ResNetFrames']
