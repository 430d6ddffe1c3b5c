# Copyright (c) mmfsar contributors. All rights reserved.
import copy

from mmaction.registry import RUNNERS
from mmengine.runner import Runner

from mmfsar.utils import resolve_dataloader, resolve_placeholders

LOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def resolve_loop_dataloader(runner, dataloader):
    """The dataloader config a runner hands a loop, with its ``${key}``
    placeholders resolved against ``runner.cfg``.

    mmfsar's episodic loops call this, so that a runner built without
    ``runner_type='FewShotRunner'`` (``Runner.from_cfg``, a config on
    MMAction2's runtime) reads the same paths.
    """
    name = next((key for key in LOADER_KEYS
                 if getattr(runner, f'_{key}', None) is dataloader),
                'dataloader')
    return resolve_dataloader(runner.cfg, dataloader, name)


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
