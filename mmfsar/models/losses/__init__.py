# Copyright (c) mmfsar contributors. All rights reserved.
from .video_text_loss import VideoTextLoss

__all__ = ['VideoTextLoss']
