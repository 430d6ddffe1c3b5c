# Copyright (c) mmfsar contributors. All rights reserved.
"""Every workaround mmfsar needs for its pinned stack, in one place.

The stack is mmaction2 1.2.0 + mmengine 0.10.7 + mmcv-lite 2.1.0 on a
current torch (>= 2.6). :func:`apply` runs on ``import mmfsar``; each fix is
a no-op where its problem does not occur, and each names the upstream
problem it works around.
"""
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import os.path as osp
import sys
import types

import torch

_APPLIED = False


def alias_importlib_metadata() -> None:
    """``mmaction/utils/dependency.py`` imports ``importlib_metadata``, which
    mmaction2 1.2.0 does not declare; alias the stdlib module when the
    backport is missing."""
    if importlib.util.find_spec('importlib_metadata') is None:
        sys.modules['importlib_metadata'] = importlib.metadata


def stub_missing_drn() -> None:
    """The mmaction2 1.2.0 wheel lacks ``mmaction/models/localizers/drn``
    (mmaction2#2714), yet ``localizers/__init__.py`` imports it, so
    ``import mmaction.models`` fails. Register a placeholder module, only when
    the real one is absent, before ``mmaction.models`` is imported."""
    name = 'mmaction.models.localizers.drn'
    if name in sys.modules:
        return
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return
    root = spec.submodule_search_locations[0]
    if osp.exists(osp.join(root, 'models', 'localizers', 'drn', 'drn.py')):
        return

    class DRN:
        """Placeholder for mmaction's DRN localizer, absent from the wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'mmaction.models.localizers.drn is missing from the '
                'mmaction2 1.2.0 wheel (mmaction2#2714); mmfsar installed a '
                'placeholder so that the rest of mmaction imports.')

    package = types.ModuleType(name)
    package.__path__ = []
    package.__spec__ = importlib.machinery.ModuleSpec(
        name, None, is_package=True)
    module = types.ModuleType(name + '.drn')
    module.DRN = DRN
    package.drn = module
    sys.modules[name] = package
    sys.modules[name + '.drn'] = module


def patch_cpu_distributed() -> None:
    """mmengine's ``init_dist('pytorch')`` always calls
    ``torch.cuda.set_device`` and mmaction's runtime asks for the NCCL
    backend, so ``torchrun`` fails on a machine without CUDA. Without CUDA,
    initialise the process group with gloo from the torchrun environment
    instead."""
    import mmengine.dist.utils as dist_utils
    import mmengine.runner.runner as runner_module
    if getattr(dist_utils.init_dist, '_mmfsar_patched', False):
        return
    original = dist_utils.init_dist

    def init_dist(launcher, backend='nccl', init_backend='torch', **kwargs):
        if launcher == 'pytorch' and not torch.cuda.is_available():
            import torch.distributed as torch_dist
            if not torch_dist.is_initialized():
                kwargs.pop('device_id', None)
                torch_dist.init_process_group(
                    backend='gloo',
                    rank=int(os.environ['RANK']),
                    world_size=int(os.environ['WORLD_SIZE']),
                    **kwargs)
            return
        return original(launcher, backend, init_backend, **kwargs)

    init_dist._mmfsar_patched = True
    dist_utils.init_dist = init_dist
    runner_module.init_dist = init_dist
    import mmengine.dist
    mmengine.dist.init_dist = init_dist


def patch_ddp_device_ids() -> None:
    """mmengine's Runner wraps the model as
    ``MMDistributedDataParallel(device_ids=[LOCAL_RANK])``, which torch
    rejects for a module on the CPU. Drop ``device_ids`` when the module's
    parameters live on the CPU; GPU runs are unchanged."""
    from mmengine.model import MMDistributedDataParallel
    if getattr(MMDistributedDataParallel.__init__, '_mmfsar_patched', False):
        return
    original = MMDistributedDataParallel.__init__

    def __init__(self, module, *args, **kwargs):
        params = list(module.parameters())
        if params and params[0].device.type == 'cpu':
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        original(self, module, *args, **kwargs)

    __init__._mmfsar_patched = True
    MMDistributedDataParallel.__init__ = __init__


def atomic_checkpoint_saves() -> None:
    """mmengine 0.10.7 writes a checkpoint in place (``LocalBackend.put``
    opens the final path for writing), so a failed or killed save leaves a
    truncated file under the final name. Write local checkpoints to a
    temporary file and rename it (:func:`~mmfsar.engine.checkpoint.
    save_checkpoint_atomic`); :class:`~mmfsar.engine.hooks.
    AtomicCheckpointHook` also orders the removal of old checkpoints after
    the new one is complete."""
    from mmfsar.engine.checkpoint import patch_atomic_save
    patch_atomic_save()


def apply() -> None:
    """Apply every workaround once; later calls do nothing."""
    global _APPLIED
    if _APPLIED:
        return
    alias_importlib_metadata()
    stub_missing_drn()
    patch_cpu_distributed()
    patch_ddp_device_ids()
    from mmfsar.engine.checkpoint import register_checkpoint_loader
    register_checkpoint_loader()
    atomic_checkpoint_saves()
    _APPLIED = True
