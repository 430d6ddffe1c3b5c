# Copyright (c) mmfsar contributors. All rights reserved.
"""Loading checkpoints with ``torch.load(weights_only=True)``.

torch >= 2.6 refuses to unpickle arbitrary objects by default, and mmengine
0.10.7 runner checkpoints hold some (``HistoryBuffer`` and numpy values in
the message hub), so its ``load_from`` and ``resume`` fail (mmengine#1655;
fixed upstream only on an unreleased branch). mmfsar keeps the safe default:

- :class:`~mmfsar.engine.hooks.SafeCheckpointHook` stores the message hub
  as plain tensors and numbers, so checkpoints written by mmfsar runs load
  with ``weights_only=True`` in test, ``load_from`` and resume alike;
- mmengine's local-file loader is re-registered to use
  ``weights_only=True``. Only :meth:`Runner.resume` may fall back to
  ``weights_only=False``, for resume state written without the hook, and it
  logs that it trusts the file; set ``MMFSAR_TRUST_CHECKPOINTS=1`` to allow
  the same for any checkpoint you trust.
"""
import os
import os.path as osp
import pickle
import threading
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.logging import print_log

_STATE = threading.local()
_BUFFER_KEY = '__mmfsar_history_buffer__'


@contextmanager
def trusted_loading(reason: str):
    """Allow ``weights_only=False`` for local checkpoints inside the block."""
    previous = getattr(_STATE, 'reason', None)
    _STATE.reason = reason
    try:
        yield
    finally:
        _STATE.reason = previous


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local loader, with ``weights_only=True``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = getattr(_STATE, 'reason', None)
        if reason is None and os.environ.get('MMFSAR_TRUST_CHECKPOINTS'):
            reason = 'MMFSAR_TRUST_CHECKPOINTS is set'
        if reason is None:
            raise pickle.UnpicklingError(
                f'{filename} cannot be loaded with weights_only=True: it '
                'holds pickled Python objects (typically an mmengine message '
                'hub written without mmfsar\'s SafeCheckpointHook). Only '
                'load it if you trust its source: set '
                'MMFSAR_TRUST_CHECKPOINTS=1, or keep just its state_dict. '
                f'Original error: {err}') from err
        print_log(
            f'Loading {filename} with weights_only=False ({reason}): this '
            'trusts the file, which can run code when unpickled.',
            logger='current',
            level=30)
        return torch.load(
            filename, map_location=map_location, weights_only=False)


def register_checkpoint_loader() -> None:
    """Use :func:`load_local_checkpoint` for local files and let only
    ``Runner.resume`` fall back to trusted loading."""
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    if getattr(Runner.resume, '_mmfsar_patched', False):
        return
    original = Runner.resume

    def resume(self, filename, *args, **kwargs):
        with trusted_loading('resuming the run from its own work dir'):
            return original(self, filename, *args, **kwargs)

    resume._mmfsar_patched = True
    Runner.resume = resume


def _plain(value):
    """numpy values -> tensors / Python numbers, recursively."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return type(value)((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def message_hub_to_plain(state: dict) -> dict:
    """Make a ``MessageHub.state_dict()`` loadable with weights_only."""
    from mmengine.logging import HistoryBuffer
    scalars = {}
    for key, buffer in state['log_scalars'].items():
        if isinstance(buffer, HistoryBuffer):
            log, count = buffer.data
            scalars[key] = {
                _BUFFER_KEY: True,
                'log': torch.from_numpy(np.asarray(log, dtype=np.float64)),
                'count': torch.from_numpy(np.asarray(count, dtype=np.float64)),
                'max_length': buffer.max_length,
            }
        else:
            scalars[key] = _plain(buffer)
    return dict(
        log_scalars=scalars,
        runtime_info=_plain(dict(state['runtime_info'])),
        resumed_keys=dict(state['resumed_keys']))


def message_hub_from_plain(state: dict) -> dict:
    """Inverse of :func:`message_hub_to_plain`."""
    from mmengine.logging import HistoryBuffer
    scalars = {}
    for key, value in state['log_scalars'].items():
        if isinstance(value, dict) and value.get(_BUFFER_KEY):
            scalars[key] = HistoryBuffer(value['log'].numpy(),
                                         value['count'].numpy(),
                                         value['max_length'])
        else:
            scalars[key] = value
    return dict(state, log_scalars=scalars)
