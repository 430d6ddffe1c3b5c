# Copyright (c) mmfsar contributors. All rights reserved.
"""mmfsar: CLIP-FSAR few-shot action recognition for MMAction2 1.x.

Importing the package applies the stack workarounds of :mod:`mmfsar.compat`
and registers every mmfsar module in MMAction2's registries (and the episode
collate function in mmengine's ``FUNCTIONS``).
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models, utils  # noqa: E402
from .utils import config_path  # noqa: E402
from .version import __version__, version_info  # noqa: E402

__all__ = [
    '__version__', 'compat', 'config_path', 'datasets', 'engine', 'evaluation',
    'models', 'utils', 'version_info'
]
