# Copyright (c) mmfsar contributors. All rights reserved.
from .few_shot_accuracy import FewShotAccuracy, check_finite_logits

__all__ = ['FewShotAccuracy', 'check_finite_logits']
