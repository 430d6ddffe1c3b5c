# Copyright (c) mmfsar contributors. All rights reserved.
from .prototype_modulation_head import ModulationLayer, PrototypeModulationHead

__all__ = ['ModulationLayer', 'PrototypeModulationHead']
