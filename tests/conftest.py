# Copyright (c) mmfsar contributors. All rights reserved.
import pytest
from mmengine.registry import init_default_scope

import mmfsar  # noqa: F401  (workarounds + registration)

init_default_scope('mmaction')


@pytest.fixture(scope='session')
def smoke_root(tmp_path_factory):
    """A working directory with the smoke videos in ./data/smoke."""
    from mmfsar.testing import make_video_dataset
    root = tmp_path_factory.mktemp('smoke')
    make_video_dataset(str(root / 'data' / 'smoke'))
    return root
