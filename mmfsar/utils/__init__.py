# Copyright (c) mmfsar contributors. All rights reserved.
from .config import (PlaceholderError, check_resolved, config_dir, config_path,
                     resolve_dataloader, resolve_placeholders)

__all__ = [
    'PlaceholderError', 'check_resolved', 'config_dir', 'config_path',
    'resolve_dataloader', 'resolve_placeholders'
]
