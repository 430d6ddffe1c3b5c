# Copyright (c) mmfsar contributors. All rights reserved.
"""Config helpers: late-bound ``${key}`` placeholders and where the shipped
configs live.

mmengine evaluates ``data_root + '/videos'`` while it parses the base file
that writes it, so a child config or ``--cfg-options data_root=X`` could
not move the data of an inherited dataset. mmfsar's dataset configs write
``'${data_root}/videos'`` instead: the placeholder names a top-level key of
the final config and is replaced after every merge: by
:func:`resolve_placeholders` when the runner is built (``FewShotRunner``,
the ``runner_type`` of ``configs/_base_/default_runtime.py``), and by
:func:`resolve_dataloader` when mmfsar's episodic loops build their
dataloaders under any runner.
"""
import copy
import os.path as osp
import re
from typing import Any, Dict, List, Optional

PLACEHOLDER = re.compile(r'\$\{([^}]*)\}')
"""``${name}`` in a string; ``name`` must be a top-level config key."""

RESOLVED_KEYS_SUFFIX = '_dataloader'
"""Placeholders are resolved under the top-level keys ending with this (and
in top-level strings)."""


class PlaceholderError(ValueError):
    """A ``${key}`` placeholder names no usable key, or was never
    resolved."""


def _lookup(cfg, name: str, where: str, chain: List[str]) -> str:
    """The value of top-level key ``name``, its own placeholders resolved."""
    if name in chain:
        raise PlaceholderError(
            f'{where}: the placeholders form a cycle: '
            f'{" -> ".join("${" + n + "}" for n in chain + [name])}.')
    if not re.fullmatch(r'[A-Za-z_]\w*', name) or name not in cfg:
        known = sorted(k for k, v in cfg.items()
                       if isinstance(v, str) and not k.startswith('_'))
        raise PlaceholderError(
            f'{where} holds the placeholder ${{{name}}}, but the config has '
            f'no top-level key {name!r} (top-level string keys: '
            f'{", ".join(known) or "none"}).')
    value = cfg[name]
    if not isinstance(value, str):
        raise PlaceholderError(
            f'{where} holds the placeholder ${{{name}}}, but {name} is '
            f'{value!r}, not a string.')
    return _substitute(cfg, value, name, chain + [name])


def _substitute(cfg, text: str, where: str, chain: List[str]) -> str:
    return PLACEHOLDER.sub(lambda m: _lookup(cfg, m.group(1), where, chain),
                           text)


def _resolve(cfg, value: Any, where: str) -> Any:
    if isinstance(value, str):
        return _substitute(cfg, value, where, [])
    if isinstance(value, dict):
        for key in list(value.keys()):
            value[key] = _resolve(cfg, value[key], f'{where}.{key}')
        return value
    if isinstance(value, (list, tuple)):
        items = [
            _resolve(cfg, item, f'{where}[{i}]')
            for i, item in enumerate(value)
        ]
        return type(value)(items) if isinstance(value, tuple) else items
    return value


def resolve_placeholders(cfg):
    """Replace every ``${key}`` in the dataloader configs of ``cfg``.

    Each ``${key}`` becomes the string value of the top-level key ``key`` of
    ``cfg`` (itself resolved, so ``ann_root = '${data_root}/annotations'``
    follows ``data_root``). The values under top-level keys ending with
    ``_dataloader`` and the top-level strings are rewritten; the other keys
    are left as they are.

    Args:
        cfg (Config | dict): The merged config; changed in place.

    Returns:
        Config | dict: ``cfg``.

    Raises:
        PlaceholderError: naming the key, when a placeholder names no
            top-level string key of ``cfg`` or the placeholders form a
            cycle.
    """
    resolved = {}
    for key in list(cfg.keys()):
        value = cfg[key]
        if isinstance(value, str) or (key.endswith(RESOLVED_KEYS_SUFFIX)
                                      and value is not None):
            resolved[key] = _resolve(cfg, value, key)
    for key, value in resolved.items():
        cfg[key] = value
    return cfg


def resolve_dataloader(cfg, dataloader: Any, name: str) -> Any:
    """A copy of one dataloader config with its ``${key}`` placeholders
    replaced from the top-level keys of ``cfg`` (see
    :func:`resolve_placeholders`); anything but a dict is returned as is.

    Raises:
        PlaceholderError: naming ``name`` and the key.
    """
    if not isinstance(dataloader, dict):
        return dataloader
    return _resolve(cfg, copy.deepcopy(dataloader), name)


def find_placeholder(value: Any, where: str) -> Optional[str]:
    """The first ``where.key: '...${x}...'`` under ``value``, or None."""
    if isinstance(value, str):
        return f'{where}={value!r}' if PLACEHOLDER.search(value) else None
    items: Dict[str, Any] = {}
    if isinstance(value, dict):
        items = {f'{where}.{k}': v for k, v in value.items()}
    elif isinstance(value, (list, tuple)):
        items = {f'{where}[{i}]': v for i, v in enumerate(value)}
    for name, item in items.items():
        found = find_placeholder(item, name)
        if found:
            return found
    return None


def check_resolved(value: Any, where: str) -> None:
    """Refuse a config value that still holds a ``${key}`` placeholder.

    Raises:
        PlaceholderError: naming the key and explaining who resolves
            placeholders.
    """
    found = find_placeholder(value, where)
    if found:
        raise PlaceholderError(
            f'{found} holds an unresolved ${{...}} placeholder. mmfsar '
            'resolves them in its episodic loops (EpisodicTrainLoop, '
            'EpisodicTestLoop) and in FewShotRunner; code that builds '
            'datasets from a config itself calls '
            'mmfsar.utils.resolve_placeholders(cfg) first.')


def config_dir() -> str:
    """The folder of mmfsar's configs.

    ``mmfsar/.mim/configs`` inside an installed (non-editable) package,
    which carries a copy of the repository's ``configs/``; the
    repository's ``configs/`` for a source checkout or an editable install.

    Raises:
        FileNotFoundError: when neither exists.
    """
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = (osp.join(package, '.mim', 'configs'),
                  osp.join(osp.dirname(package), 'configs'))
    for candidate in candidates:
        if osp.isfile(osp.join(candidate, '_base_', 'default_runtime.py')):
            return candidate
    raise FileNotFoundError(
        f'No mmfsar configs in {" or ".join(candidates)}: reinstall mmfsar '
        '(the wheel carries them in mmfsar/.mim/configs).')


def config_path(name: str) -> str:
    """Absolute path of one of mmfsar's configs, to inherit it by path.

    Args:
        name (str): Path relative to the configs folder, e.g.
            ``'clip_fsar_hmdb51_5shot.py'`` or
            ``'_base_/datasets/hmdb51_fsar.py'``.

    Raises:
        FileNotFoundError: naming the configs folder.
    """
    root = config_dir()
    path = osp.normpath(osp.join(root, name))
    if not path.startswith(root + osp.sep) or not osp.isfile(path):
        raise FileNotFoundError(f'No config {name!r} in {root}.')
    return path
