# Copyright (c) mmfsar contributors. All rights reserved.
"""Loading and saving checkpoints safely.

Loading: torch >= 2.6 refuses to unpickle arbitrary objects by default
(``weights_only=True``), and mmengine 0.10.7 runner checkpoints hold some
(``HistoryBuffer`` and numpy values in the message hub), so its
``load_from`` and ``resume`` fail (mmengine#1655; fixed upstream only on an
unreleased branch). mmfsar keeps the safe default everywhere:

- :class:`~mmfsar.engine.hooks.SafeCheckpointHook` stores the message hub
  as plain tensors and numbers, so checkpoints written by mmfsar runs load
  with ``weights_only=True`` in test, ``load_from`` and resume alike;
- mmengine's local-file loader is re-registered as
  :func:`load_local_checkpoint`, which uses ``weights_only=True`` and
  unpickles arbitrary objects only from a file the user named: the
  ``trusted_checkpoints`` config key (``--trust-checkpoint PATH`` of
  ``tools/train.py`` and ``tools/test.py``) or :func:`trusted_loading`.
  No environment variable turns trust on.

Saving: mmengine writes a checkpoint in place, so a failure during the save
(a full disk, a kill, a preemption) leaves a truncated file under the final
name. :func:`save_checkpoint_atomic` writes a temporary file in the same
folder, flushes it to disk and renames it over the final name, so a
checkpoint path only ever names a complete file.
"""
import os
import os.path as osp
import pickle
import re
import threading
import uuid
from contextlib import contextmanager
from typing import Iterable, Optional, Union

import numpy as np
import torch
from mmengine.logging import print_log

_STATE = threading.local()
_BUFFER_KEY = '__mmfsar_history_buffer__'
# Keys Runner.resume reads; a file without them cannot resume a run.
_RESUME_KEYS = ('meta', 'state_dict', 'message_hub', 'optimizer')
PARTIAL_SUFFIX = '.partial'


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects and the user did not trust it."""


class CheckpointReadError(RuntimeError):
    """A checkpoint file is empty, truncated or not a checkpoint."""


def _real(path: str) -> str:
    return osp.realpath(osp.expanduser(path))


@contextmanager
def trusted_loading(paths: Union[str, Iterable[str], None]):
    """Allow ``weights_only=False`` for these local files inside the block.

    Args:
        paths (str | Iterable[str] | None): The checkpoint files to trust,
            e.g. a config's ``trusted_checkpoints``. Each must exist.
    """
    if paths is None:
        paths = []
    elif isinstance(paths, str):
        paths = [paths]
    elif not isinstance(paths, (list, tuple)) or not all(
            isinstance(p, str) for p in paths):
        raise TypeError('trusted_checkpoints must be a path or a list of '
                        f'paths, got {paths!r}')
    for path in paths:
        if not osp.isfile(osp.expanduser(path)):
            raise FileNotFoundError(
                f'trusted_checkpoints names {path}, which is not a file.')
    previous = getattr(_STATE, 'trusted', frozenset())
    _STATE.trusted = previous | {_real(p) for p in paths}
    try:
        yield
    finally:
        _STATE.trusted = previous


def add_trust_argument(parser) -> None:
    """``--trust-checkpoint PATH`` of ``tools/train.py`` and
    ``tools/test.py``; see :func:`add_trusted_checkpoints`."""
    parser.add_argument(
        '--trust-checkpoint',
        action='append',
        metavar='PATH',
        help='allow this checkpoint file to be unpickled with '
        'weights_only=False (only for a file whose source you trust: '
        'unpickling can run code); repeat for several files')


def add_trusted_checkpoints(cfg, paths: Optional[Iterable[str]]) -> None:
    """Add files (``--trust-checkpoint``) to ``cfg.trusted_checkpoints``."""
    if not paths:
        return
    trusted = cfg.get('trusted_checkpoints') or []
    trusted = [trusted] if isinstance(trusted, str) else list(trusted)
    cfg.trusted_checkpoints = trusted + list(paths)


@contextmanager
def resuming(filename: str):
    """Inside the block, loading ``filename`` must give resume state."""
    previous = getattr(_STATE, 'resuming', None)
    _STATE.resuming = _real(filename)
    try:
        yield
    finally:
        _STATE.resuming = previous


def _untrusted_message(filename: str, size: int, err: Exception) -> str:
    how = (f'pass --trust-checkpoint {filename} to tools/train.py or '
           f'tools/test.py, or set trusted_checkpoints=[{filename!r}] in '
           'the config.')
    found = re.search(r'Unsupported global: GLOBAL (\S+)', str(err))
    if found:
        message = (
            f'{filename} holds pickled Python objects, which '
            'torch.load(weights_only=True) refuses (it imports '
            f'{found.group(1)}). Unpickling them can run arbitrary code, so '
            'mmfsar loads such a file only when you name it: if you trust '
            f'its source, {how} Checkpoints written by mmfsar runs '
            '(SafeCheckpointHook) never need this.')
    else:
        lines = [
            line.strip() for line in str(err).splitlines()
            if line.strip() and not line.startswith(
                ('Weights only load failed', 'Check the documentation',
                 'Please file an issue'))
        ]
        message = (
            f'{filename} ({size} bytes) cannot be loaded with '
            f'torch.load(weights_only=True) ({(lines or ["?"])[-1]}): it is '
            'corrupt, not a torch checkpoint, or a checkpoint that holds '
            'pickled Python objects. Unpickling can run arbitrary code; only '
            f'for a checkpoint whose source you trust, {how}')
    if os.environ.get('MMFSAR_TRUST_CHECKPOINTS') is not None:
        message += (' MMFSAR_TRUST_CHECKPOINTS is not read: trust is given '
                    'per file.')
    return message


def _check_resume_state(filename: str, checkpoint) -> None:
    missing = [
        k for k in _RESUME_KEYS
        if not isinstance(checkpoint, dict) or k not in checkpoint
    ]
    if not missing and 'iter' not in checkpoint['meta']:
        missing = ["meta['iter']"]
    if missing:
        raise ValueError(
            f'{filename} cannot resume a run: it has no '
            f'{", ".join(map(repr, missing))}. Resume state is the '
            'iter_<N>.pth that training writes; best_*.pth and weights-only '
            'files hold no optimizer state. To start a new run from its '
            'weights, drop --resume and set load_from (tools/train.py '
            f'--cfg-options load_from={filename}).')


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's local loader with ``weights_only=True``, and errors that
    name the file."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    size = osp.getsize(filename)
    if size == 0:
        raise CheckpointReadError(
            f'{filename} is empty (0 bytes), not a checkpoint; an '
            'interrupted save can leave such a file.')
    try:
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if _real(filename) not in getattr(_STATE, 'trusted', ()):
            raise UntrustedCheckpointError(
                _untrusted_message(filename, size, err)) from None
        print_log(
            f'Loading {filename} with weights_only=False: it is named in '
            'trusted_checkpoints. Unpickling runs whatever code the file '
            'holds.',
            logger='current',
            level=30)
        checkpoint = torch.load(
            filename, map_location=map_location, weights_only=False)
    except Exception as err:
        raise CheckpointReadError(
            f'{filename} ({size} bytes) cannot be read as a torch '
            'checkpoint: it is truncated (an interrupted save or copy) or '
            f'not a checkpoint. {type(err).__name__}: {err}') from err
    if getattr(_STATE, 'resuming', None) == _real(filename):
        _check_resume_state(filename, checkpoint)
    return checkpoint


def register_checkpoint_loader() -> None:
    """Use :func:`load_local_checkpoint` for local files; let
    ``Runner.load_checkpoint`` trust the files of the config's
    ``trusted_checkpoints`` and ``Runner.resume`` check for resume state."""
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    if getattr(Runner.resume, '_mmfsar_patched', False):
        return
    original_load, original_resume = Runner.load_checkpoint, Runner.resume

    def load_checkpoint(self, filename, *args, **kwargs):
        with trusted_loading(self.cfg.get('trusted_checkpoints')):
            return original_load(self, filename, *args, **kwargs)

    def resume(self, filename, *args, **kwargs):
        with resuming(filename):
            return original_resume(self, filename, *args, **kwargs)

    load_checkpoint._mmfsar_patched = resume._mmfsar_patched = True
    Runner.load_checkpoint, Runner.resume = load_checkpoint, resume


def _is_local(filename: str) -> bool:
    return '://' not in filename


def write_atomic(path: str, write) -> None:
    """Write a file through a temporary file in the same folder, flushed to
    disk and renamed over ``path``: ``path`` is either the old file or the
    complete new one, never a part.

    Args:
        path (str): The file to write.
        write (Callable): Called with the open binary file object.
    """
    folder = osp.dirname(osp.abspath(path))
    tmp = osp.join(
        folder, f'.{osp.basename(path)}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}')
    try:
        with open(tmp, 'xb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. a platform without directory descriptors
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint_atomic(checkpoint: dict,
                           filename: str,
                           file_client_args: Optional[dict] = None,
                           backend_args: Optional[dict] = None) -> None:
    """``mmengine.runner.save_checkpoint``, atomic for local files.

    Other destinations (``s3://``, ``pavi://``, a file client or backend
    arguments) go to mmengine's writer unchanged.
    """
    from mmengine.runner import checkpoint as mmengine_checkpoint
    if (not _is_local(filename) or file_client_args is not None
            or backend_args is not None):
        return mmengine_checkpoint._mmfsar_original_save(
            checkpoint, filename, file_client_args, backend_args)
    write_atomic(filename, lambda f: torch.save(checkpoint, f))


def patch_atomic_save() -> None:
    """Make ``Runner.save_checkpoint`` and ``CheckpointHook``'s publishing
    write local checkpoints atomically (:func:`save_checkpoint_atomic`)."""
    import mmengine.runner
    import mmengine.runner.checkpoint as mmengine_checkpoint
    import mmengine.runner.runner as runner_module
    if hasattr(mmengine_checkpoint, '_mmfsar_original_save'):
        return
    mmengine_checkpoint._mmfsar_original_save = (
        mmengine_checkpoint.save_checkpoint)
    for module in (mmengine_checkpoint, runner_module, mmengine.runner):
        module.save_checkpoint = save_checkpoint_atomic


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
