# Copyright (c) mmfsar contributors. All rights reserved.
from .clip_fsar import CLIPFSAR
from .few_shot_recognizer import (Episode, FewShotRecognizer, pack_predictions,
                                  split_episodes)

__all__ = [
    'CLIPFSAR', 'Episode', 'FewShotRecognizer', 'pack_predictions',
    'split_episodes'
]
