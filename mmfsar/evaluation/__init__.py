# Copyright (c) mmfsar contributors. All rights reserved.
from .metrics import FewShotAccuracy, check_finite_logits

__all__ = ['FewShotAccuracy', 'check_finite_logits']
