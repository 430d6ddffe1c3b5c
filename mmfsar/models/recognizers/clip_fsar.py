# Copyright (c) mmfsar contributors. All rights reserved.
from mmaction.registry import MODELS
from mmaction.utils import ConfigType, OptConfigType

from .few_shot_recognizer import FewShotRecognizer


@MODELS.register_module()
class CLIPFSAR(FewShotRecognizer):
    """CLIP-FSAR: CLIP-guided prototype modulating for few-shot action
    recognition (Wang et al., IJCV 2023).

    A :class:`FewShotRecognizer` with CLIP parts: every frame goes through
    the fine-tuned CLIP image tower (``backbone``); class names go once
    through the frozen CLIP text tower (``text_encoder``). The ``head``
    (``PrototypeModulationHead``) modulates support videos with their class
    text into prototypes and matches queries with bidirectional OTAM;
    ``loss_text`` pulls each video's mean frame feature toward its class
    text over all training classes.

    Args:
        backbone (dict): Image tower, e.g. ``OpenCLIPVisual``.
        text_encoder (dict): Text tower, e.g. ``OpenCLIPTextEncoder``.
        head (dict): ``PrototypeModulationHead``.
        loss_text (dict): ``VideoTextLoss``.
        data_preprocessor (dict, optional): Defaults to an
            ``ActionDataPreprocessor`` with CLIP mean and std.
        **kwargs: Other :class:`FewShotRecognizer` arguments.
    """

    def __init__(self,
                 backbone: ConfigType,
                 text_encoder: ConfigType,
                 head: ConfigType,
                 loss_text: ConfigType = dict(type='VideoTextLoss'),
                 data_preprocessor: OptConfigType = None,
                 **kwargs) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ActionDataPreprocessor',
                mean=[122.771, 116.746, 104.094],
                std=[68.501, 66.632, 70.323],
                format_shape='NCHW')
        super().__init__(
            backbone=backbone,
            head=head,
            text_encoder=text_encoder,
            loss_text=loss_text,
            data_preprocessor=data_preprocessor,
            **kwargs)
