# Copyright (c) mmfsar contributors. All rights reserved.
import copy

from mmaction.registry import RUNNERS
from mmengine.runner import Runner

from mmfsar.utils import resolve_placeholders


@RUNNERS.register_module()
class FewShotRunner(Runner):
    """mmengine's ``Runner`` that first resolves the ``${key}``
    placeholders of the dataloader configs.

    The dataset configs of mmfsar write their paths as
    ``'${data_root}/...'``; this runner replaces each placeholder by the
    top-level key of the final config (after ``_base_`` inheritance, child
    configs and ``--cfg-options``), so one ``data_root`` moves every
    dataloader. ``configs/_base_/default_runtime.py`` selects it with
    ``runner_type='FewShotRunner'``, which mmfsar's and MMAction2's
    ``tools/train.py`` and ``tools/test.py`` honour. The config saved in the
    work dir holds the resolved paths.
    """

    @classmethod
    def from_cfg(cls, cfg) -> 'FewShotRunner':
        """Build the runner from a config with placeholders resolved.

        Raises:
            PlaceholderError: naming the key of a placeholder that names
                no top-level string key of ``cfg``.
        """
        return super().from_cfg(resolve_placeholders(copy.deepcopy(cfg)))
