# Copyright (c) mmfsar contributors. All rights reserved.
from .metrics import FewShotAccuracy

__all__ = ['FewShotAccuracy']
