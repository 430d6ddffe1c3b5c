# Copyright (c) mmfsar contributors. All rights reserved.
from .clip_fsar import CLIPFSAR, Episode, pack_predictions, split_episodes

__all__ = ['CLIPFSAR', 'Episode', 'pack_predictions', 'split_episodes']
