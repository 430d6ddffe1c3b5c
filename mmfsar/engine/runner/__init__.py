# Copyright (c) mmfsar contributors. All rights reserved.
from .episodic_test_loop import EpisodicTestLoop
from .episodic_train_loop import EpisodicTrainLoop, unwrap_model

__all__ = ['EpisodicTestLoop', 'EpisodicTrainLoop', 'unwrap_model']
