# Copyright (c) mmfsar contributors. All rights reserved.
from .inference import (VIDEO_EXTENSIONS, FewShotPrediction, FrameAlignment,
                        get_test_pipeline_cfg, inference_fsar, init_fsar_model,
                        support_from_folder)

__all__ = [
    'FewShotPrediction', 'FrameAlignment', 'VIDEO_EXTENSIONS',
    'inference_fsar', 'init_fsar_model', 'support_from_folder',
    'get_test_pipeline_cfg'
]
