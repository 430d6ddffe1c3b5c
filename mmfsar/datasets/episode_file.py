# Copyright (c) mmfsar contributors. All rights reserved.
"""Episode files: a split's episodes as names, to share and re-evaluate.

One JSON object per line, one line per episode, in episode order::

    {"episode": 0, "classes": ["kick", "fencing", ...],
     "support": ["videos/kick/a.avi", ...], "query": [...]}

``classes`` are the N class names in episode-label order; ``support``
holds the K support videos of each class in that order (class 0's K
videos, then class 1's, ...), ``query`` the Q queries of each class
likewise. Videos are paths relative to the data root, as in the
annotation files, so a file written from one copy of a benchmark can be
evaluated on another copy at another root.
"""
import json
from typing import Dict, Iterable, List, Tuple

EPISODE_KEYS = ('classes', 'support', 'query')


class EpisodeFileError(ValueError):
    """An episode file that cannot be read or does not fit the dataset."""


def episode_record(index: int, classes: List[str], support: List[str],
                   query: List[str]) -> str:
    """One line of an episode file (without the newline)."""
    return json.dumps(
        dict(
            episode=int(index), classes=classes, support=support, query=query),
        ensure_ascii=False)


def write_episode_file(path: str, records: Iterable[str]) -> int:
    """Write lines from :func:`episode_record`; return how many."""
    count = 0
    with open(path, 'w', encoding='utf-8') as f:
        for record in records:
            f.write(record + '\n')
            count += 1
    return count


def read_episode_file(path: str) -> List[Tuple[int, Dict[str, list]]]:
    """The episodes of an episode file, each with its line number.

    Raises:
        EpisodeFileError: naming the file and line, for a line that is not
            a JSON object with list-of-string ``classes``, ``support`` and
            ``query``, or a file without episodes.
    """
    episodes = []
    try:
        f = open(path, encoding='utf-8')
    except OSError as err:
        raise EpisodeFileError(
            f'Cannot read the episode file {path}: {err}') from None
    with f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f'Episode file {path}, line {number}'
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise EpisodeFileError(f'{where}: not JSON ({err}).') from None
            if not isinstance(record, dict):
                raise EpisodeFileError(f'{where}: not a JSON object.')
            for key in EPISODE_KEYS:
                value = record.get(key)
                if not isinstance(value, list) or not all(
                        isinstance(v, str) for v in value):
                    raise EpisodeFileError(
                        f'{where}: {key!r} must be a list of strings, got '
                        f'{value!r}.')
            episodes.append((number, record))
    if not episodes:
        raise EpisodeFileError(f'Episode file {path} holds no episodes.')
    return episodes
