# Copyright (c) mmfsar contributors. All rights reserved.
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from ..checkpoint import _plain, message_hub_from_plain, message_hub_to_plain


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Write checkpoints that ``torch.load(weights_only=True)`` accepts.

    mmengine stores the message hub's ``HistoryBuffer`` objects and numpy
    values in every checkpoint; this hook converts them to tensors and plain
    numbers before saving and back after loading, so neither testing nor
    resuming has to unpickle arbitrary objects.
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_to_plain(
                checkpoint['message_hub'])
        if 'meta' in checkpoint:
            checkpoint['meta'] = _plain(checkpoint['meta'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = message_hub_from_plain(
                checkpoint['message_hub'])
