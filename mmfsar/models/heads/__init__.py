# Copyright (c) mmfsar contributors. All rights reserved.
from .base_few_shot_head import BaseFewShotHead, class_mean
from .otam_head import OTAMHead
from .prototype_modulation_head import ModulationLayer, PrototypeModulationHead

__all__ = [
    'BaseFewShotHead', 'ModulationLayer', 'OTAMHead',
    'PrototypeModulationHead', 'class_mean'
]
