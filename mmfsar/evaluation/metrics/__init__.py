# Copyright (c) mmfsar contributors. All rights reserved.
from .few_shot_accuracy import FewShotAccuracy

__all__ = ['FewShotAccuracy']
