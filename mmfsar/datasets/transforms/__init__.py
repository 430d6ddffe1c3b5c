# Copyright (c) mmfsar contributors. All rights reserved.
from .color import VideoColorJitter
from .sampling import FewShotSampleFrames

__all__ = ['FewShotSampleFrames', 'VideoColorJitter']
