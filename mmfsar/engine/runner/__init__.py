# Copyright (c) mmfsar contributors. All rights reserved.
from .episodic_test_loop import EpisodicTestLoop
from .episodic_train_loop import EpisodicTrainLoop, unwrap_model
from .few_shot_runner import FewShotRunner

__all__ = [
    'EpisodicTestLoop', 'EpisodicTrainLoop', 'FewShotRunner', 'unwrap_model'
]
