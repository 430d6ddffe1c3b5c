# Copyright (c) mmfsar contributors. All rights reserved.
from typing import Dict

import numpy as np
from mmaction.datasets.transforms import ColorJitter
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class VideoColorJitter(ColorJitter):
    """Colour jitter with the same factors for every frame of a video.

    CLIP-FSAR's Kinetics-100 query augmentation: random grayscale first
    (probability ``grayscale_prob``), then brightness, contrast, saturation
    and hue in a random order drawn per video. mmaction's ``ColorJitter``
    fixes the order once at construction and has no grayscale, so this
    extends it.

    Args:
        brightness, contrast, saturation (float): Jitter ranges
            ``[1 - x, 1 + x]``. Defaults to 0.5.
        hue (float): Hue jitter range ``[-x, x]``. Defaults to 0.25.
        grayscale_prob (float): Probability of converting the whole video
            to grayscale. Defaults to 0.3.
    """

    def __init__(self,
                 brightness: float = 0.5,
                 contrast: float = 0.5,
                 saturation: float = 0.5,
                 hue: float = 0.25,
                 grayscale_prob: float = 0.3) -> None:
        super().__init__(brightness, contrast, saturation, hue)
        self.grayscale_prob = grayscale_prob

    def transform(self, results: Dict) -> Dict:
        imgs = results['imgs']
        gray = np.random.rand() < self.grayscale_prob
        bright = np.random.uniform(*self.brightness)
        contrast = np.random.uniform(*self.contrast)
        saturation = np.random.uniform(*self.saturation)
        hue = np.random.uniform(*self.hue)
        order = np.random.permutation(4)
        out = []
        for img in imgs:
            img = img.astype(np.float32)
            if gray:
                img = np.repeat(
                    self.rgb_to_grayscale(img)[..., None], 3, axis=-1)
            for fn_id in order:
                if fn_id == 0:
                    img = img * bright
                elif fn_id == 1:
                    img = self.adjust_contrast(img, contrast)
                elif fn_id == 2:
                    img = self.adjust_saturation(img, saturation)
                elif hue != 0:
                    img = self.adjust_hue(img, hue)
            out.append(np.clip(img, 0, 255).astype(np.uint8))
        results['imgs'] = out
        return results
