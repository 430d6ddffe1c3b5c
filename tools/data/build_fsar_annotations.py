"""Build MMAction2 annotation files from the standard few-shot splits.

The few-shot action recognition benchmarks (HMDB51, UCF101, Kinetics-100,
SSv2-Small, SSv2-Full) ship as split files ``{train,val,test}_few_shot.txt``
with one video per line, ``<split><class id><sep><path>``. This tool turns
them into what the mmfsar configs read under ``ann_root``:

- ``<split>.txt``: ``VideoDataset`` lines ``relative/path label``, with the
  split-local class id (0..C-1) as label and the path of the file found on
  disk;
- ``<split>_classes.txt``: line i is the name of class i, the text the
  CLIP text encoder sees;
- ``<split>_missing.txt``: the split-file paths of listed videos that are
  not among your files (written only when there are some). They are dropped
  from ``<split>.txt`` and counted in the printed report, never silently.

Kinetics-100 clips are matched by YouTube id inside their class folder,
whatever the file is called (``<ytid>_<start>_<end>.mp4``, ``<ytid>.mp4``,
``.mkv``, ``.webm``). SSv2 videos are read as the ``.webm`` files of the
official download.

Example::

    python tools/data/build_fsar_annotations.py --dataset hmdb51 \\
        --split-dir splits/hmdb51 --video-root data/hmdb51 \\
        --out-dir data/hmdb51/annotations
"""
import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from multiprocessing import Pool
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple

SPLITS = ('train', 'val', 'test')
# Separator between class id and path in each benchmark's split files;
# SSv2 lines hold a numeric video id instead of a path.
DATASETS = {
    'hmdb51': '//',
    'ucf101': '//',
    'kinetics100': '//',
    'ssv2_small': '/',
    'ssv2_full': '/',
}
# The SSv2 label files: (train, validation) as the label archive unpacks
# today (``labels/``), then as older copies named them.
SSV2_LABEL_LAYOUTS = (('train.json', 'validation.json'),
                      ('something-something-v2-train.json',
                       'something-something-v2-validation.json'))
# The folder the SSv2 video archive extracts to.
SSV2_VIDEO_FOLDER = '20bn-something-something-v2'
# Extensions of the video files a Kinetics clip may have.
KINETICS_EXTENSIONS = ('.mp4', '.mkv', '.webm')
# The released YAML section holding each split's class names.
RELEASED_NAME_KEYS = {'train': 'TRAIN', 'test': 'TEST'}
_LINE_RE = re.compile(r'([A-Za-z_]+)(\d+)(/+)(.*)')
_CAMEL_RE = re.compile(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])')
_CLIP_RE = re.compile(r'(.+)_(\d{6})_(\d{6})')

# (relative path, label) of found videos, split-file paths of missing ones,
# and counts of how videos were found or why they are missing.
Located = Tuple[List[Tuple[str, int]], List[str], Dict[str, int]]


class AnnotationError(Exception):
    """Bad input: a split, class-name or annotation file the tool can't
    use."""


@dataclass
class SplitEntry:
    """One line of a split file.

    Args:
        path (str): The path (or SSv2 video id) as written in the split file.
        label (int): The split-local class id.
        line_no (int): 1-based line number in the split file.
    """
    path: str
    label: int
    line_no: int


@dataclass
class SplitReport:
    """What :func:`build_split` wrote for one split.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        class_names (list[str]): Line i of ``<split>_classes.txt``.
        listed (int): Videos in the split file.
        found (int): Videos written to ``<split>.txt``.
        missing (list[str]): Split-file paths of the dropped videos.
        empty_classes (list[int]): Class ids left without any video.
        failed_conversions (int): ``.webm`` files that failed to convert
            (included in ``missing``).
        duplicates_removed (int): Repeated split-file lines dropped on
            request (``dedup``).
        renamed (int): Kinetics clips found under another name than the
            split file's (matched by YouTube id).
    """
    split: str
    class_names: List[str]
    listed: int
    found: int
    missing: List[str] = field(default_factory=list)
    empty_classes: List[int] = field(default_factory=list)
    failed_conversions: int = 0
    duplicates_removed: int = 0
    renamed: int = 0


def is_ssv2(dataset: str) -> bool:
    """Whether ``dataset`` is one of the Something-Something v2 benchmarks."""
    return dataset.startswith('ssv2')


def readable_name(folder: str) -> str:
    """Turn a class folder name into lower-case words.

    Args:
        folder (str): E.g. ``'brush_hair'``, ``'ApplyEyeMakeup'``, ``'YoYo'``.

    Returns:
        str: E.g. ``'brush hair'``, ``'apply eye makeup'``, ``'yo yo'``.
    """
    name = _CAMEL_RE.sub(' ', folder.replace('_', ' '))
    return ' '.join(name.lower().split())


def template_to_name(template: str) -> str:
    """Drop the brackets of an SSv2 template.

    Args:
        template (str): E.g. ``'Pouring [something] into [something]'``.

    Returns:
        str: E.g. ``'Pouring something into something'``.
    """
    return ' '.join(re.sub(r'[\[\]]', '', template).split())


def parse_split_file(path: Path, split: str, sep: str) -> List[SplitEntry]:
    """Read a few-shot split file and check its class ids.

    Args:
        path (Path): ``<split>_few_shot.txt``.
        split (str): The split the file must describe; every line's prefix
            must equal it.
        sep (str): ``'/'`` (SSv2, the path is a numeric video id) or ``'//'``
            (the path is relative to the dataset root).

    Returns:
        list[SplitEntry]: The lines in file order. Class ids are 0..C-1.

    Raises:
        AnnotationError: If the file is absent, a line is malformed or has
            another split's prefix, or the class ids are not contiguous.
    """
    if not path.is_file():
        raise AnnotationError(f'split file {path} does not exist')
    entries = []
    with open(path, encoding='utf-8') as f:
        for line_no, raw in enumerate(f, 1):
            line = raw.strip()
            if not line:
                continue
            where = f'{path}, line {line_no} ({line!r})'
            match = _LINE_RE.fullmatch(line)
            if match is None:
                raise AnnotationError(
                    f'malformed split line at {where}: expected '
                    f"'<split><class id>{sep}<path>'")
            prefix, label, found_sep, video = match.groups()
            if prefix not in SPLITS:
                raise AnnotationError(
                    f'unknown split prefix {prefix!r} at {where}: expected '
                    f'one of {", ".join(SPLITS)}')
            if prefix != split:
                raise AnnotationError(
                    f'split prefix {prefix!r} at {where}: this file lists '
                    f'the {split!r} split')
            if found_sep != sep or not video or video.startswith('/'):
                raise AnnotationError(
                    f'malformed split line at {where}: expected '
                    f"'{split}<class id>{sep}<path>'")
            if sep == '/' and not video.isdigit():
                raise AnnotationError(
                    f'malformed split line at {where}: expected a numeric '
                    'SSv2 video id')
            if any(c.isspace() for c in video):
                raise AnnotationError(
                    f'path with whitespace at {where}: the VideoDataset '
                    'annotation format separates path and label by spaces')
            entries.append(SplitEntry(video, int(label), line_no))
    if not entries:
        raise AnnotationError(f'split file {path} lists no videos')
    ids = sorted({e.label for e in entries})
    if ids != list(range(len(ids))):
        absent = sorted(set(range(ids[-1] + 1)) - set(ids))
        raise AnnotationError(
            f'class ids in {path} are not contiguous from 0: found '
            f'{len(ids)} ids in 0..{ids[-1]}, missing {absent[:10]}')
    return entries


def remove_duplicates(entries: Sequence[SplitEntry],
                      split_file: Path,
                      dedup: bool = False) -> Tuple[List[SplitEntry], int]:
    """Refuse (or, if asked, drop) repeated videos of a split file.

    Args:
        entries (Sequence[SplitEntry]): A parsed split file.
        split_file (Path): Its path, for error messages.
        dedup (bool): Keep the first line of a video listed twice with the
            same class id instead of failing. Defaults to False.

    Returns:
        tuple[list[SplitEntry], int]: The entries without repeats and the
        number of lines dropped.

    Raises:
        AnnotationError: On a repeated video (unless ``dedup``), and always
            on a video listed under two class ids.
    """
    first: Dict[str, SplitEntry] = {}
    kept, repeats = [], []
    for e in entries:
        ref = first.setdefault(e.path, e)
        if ref is e:
            kept.append(e)
            continue
        if ref.label != e.label:
            raise AnnotationError(
                f'{split_file}: video {e.path!r} is listed as class '
                f'{ref.label} at line {ref.line_no} and as class {e.label} '
                f'at line {e.line_no}')
        repeats.append((ref, e))
    if repeats and not dedup:
        shown = '; '.join(f'{e.path!r} at lines {ref.line_no} and '
                          f'{e.line_no}' for ref, e in repeats[:5])
        raise AnnotationError(
            f'{split_file} lists {len(repeats)} videos more than once: '
            f'{shown}. Pass --dedup to keep the first line of each')
    return kept, len(repeats)


def check_unique_names(names: Sequence[str], source: str) -> None:
    """Refuse two classes of one split with the same name.

    The text encoder could not tell them apart.

    Args:
        names (Sequence[str]): Name of class i at index i.
        source (str): Where the names come from, for the message.

    Raises:
        AnnotationError: Naming the classes that share a name.
    """
    seen: Dict[str, int] = {}
    for i, name in enumerate(names):
        j = seen.setdefault(name, i)
        if j != i:
            raise AnnotationError(
                f'classes {j} and {i} of {source} are both named {name!r}')


def folder_class_names(entries: Sequence[SplitEntry],
                       split_file: Path) -> List[str]:
    """Name each class after the folder its videos are in.

    Args:
        entries (Sequence[SplitEntry]): A parsed split file.
        split_file (Path): Its path, for error messages.

    Returns:
        list[str]: Readable name of class i at index i.

    Raises:
        AnnotationError: If two videos of one class id are in different
            folders.
    """
    folders: Dict[int, Tuple[str, int]] = {}
    for e in entries:
        folder = PurePosixPath(e.path).parent.name
        if not folder:
            raise AnnotationError(
                f'{split_file}, line {e.line_no}: path {e.path!r} has no '
                'class folder')
        first = folders.setdefault(e.label, (folder, e.line_no))
        if first[0] != folder:
            raise AnnotationError(
                f'{split_file}, line {e.line_no}: class {e.label} is in '
                f'folder {folder!r} here but in {first[0]!r} at line '
                f'{first[1]}')
    return [readable_name(folders[i][0]) for i in range(len(folders))]


def find_ssv2_label_files(ann_dir: Path) -> Tuple[Path, Path]:
    """The SSv2 train and validation label files in ``ann_dir``.

    Args:
        ann_dir (Path): The ``labels/`` folder of the label archive, with
            ``train.json`` and ``validation.json`` (or the older
            ``something-something-v2-{train,validation}.json``).

    Returns:
        tuple[Path, Path]: The train and validation files.

    Raises:
        AnnotationError: If neither layout is complete in ``ann_dir``.
    """
    for names in SSV2_LABEL_LAYOUTS:
        paths = tuple(Path(ann_dir) / name for name in names)
        if all(p.is_file() for p in paths):
            return paths
    layouts = ' or '.join(' and '.join(names) for names in SSV2_LABEL_LAYOUTS)
    raise AnnotationError(
        f'{ann_dir} does not hold the SSv2 label files: expected {layouts} '
        '(the labels/ folder of the SSv2 label archive)')


def load_ssv2_templates(ann_dir: Path) -> Dict[str, str]:
    """Map SSv2 video ids to their templates.

    Args:
        ann_dir (Path): See :func:`find_ssv2_label_files`.

    Returns:
        dict[str, str]: Video id -> template, e.g.
        ``'Pouring [something] into [something]'``.

    Raises:
        AnnotationError: If a file is absent or is not a list of objects
            with ``id`` and ``template``.
    """
    templates = {}
    for path in find_ssv2_label_files(ann_dir):
        with open(path, encoding='utf-8') as f:
            try:
                items = json.load(f)
                templates.update(
                    (str(item['id']), item['template']) for item in items)
            except (ValueError, KeyError, TypeError) as e:
                raise AnnotationError(
                    f'{path} is not an SSv2 label list of objects with '
                    f"'id' and 'template': {e!r}") from e
    return templates


def ssv2_class_names(entries: Sequence[SplitEntry], templates: Dict[str, str],
                     split_file: Path) -> List[str]:
    """Name each SSv2 class after the template of its videos.

    Args:
        entries (Sequence[SplitEntry]): A parsed SSv2 split file.
        templates (dict[str, str]): From :func:`load_ssv2_templates`.
        split_file (Path): Its path, for error messages.

    Returns:
        list[str]: ``template_to_name`` of class i's template at index i.

    Raises:
        AnnotationError: If a video id has no label or two videos of one
            class id have different templates.
    """
    unknown = [e for e in entries if e.path not in templates]
    if unknown:
        shown = ', '.join(f'{e.path} (line {e.line_no})' for e in unknown[:5])
        raise AnnotationError(
            f'{len(unknown)} video ids of {split_file} are not in the SSv2 '
            f'train or validation label file: {shown}')
    first: Dict[int, SplitEntry] = {}
    for e in entries:
        ref = first.setdefault(e.label, e)
        if templates[e.path] != templates[ref.path]:
            raise AnnotationError(
                f'{split_file}: class {e.label} mixes templates: video '
                f'{ref.path} (line {ref.line_no}) is '
                f'{templates[ref.path]!r} but video {e.path} (line '
                f'{e.line_no}) is {templates[e.path]!r}')
    return [
        template_to_name(templates[first[i].path]) for i in range(len(first))
    ]


def _yaml_class_names(path: Path, key: str) -> Optional[List[str]]:
    """``<key>.CLASS_NAME`` of a YAML config, or None where it has none."""
    import yaml
    try:
        with open(path, encoding='utf-8') as f:
            cfg = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise AnnotationError(f'cannot read YAML config {path}: {e}') from e
    section = cfg.get(key) if isinstance(cfg, dict) else None
    names = section.get('CLASS_NAME') if isinstance(section, dict) else None
    if names is None:
        return None
    if not isinstance(names, list) or not all(
            isinstance(n, str) for n in names):
        raise AnnotationError(
            f'{key}.CLASS_NAME in {path} is not a list of strings')
    return names


def load_released_names(split_dir: Path, split: str,
                        num_classes: int) -> Tuple[List[str], Path]:
    """Read the released class names of a split from its YAML configs.

    The released configs (``*.yaml`` in the split folder, e.g.
    ``CLIPFSAR_HMDB51_1shot_v1.yaml``) hold the train names as
    ``TRAIN.CLASS_NAME`` and the test names as ``TEST.CLASS_NAME``; item i
    names class id i. All configs that hold the list must agree.

    Args:
        split_dir (Path): The split folder.
        split (str): ``'train'`` or ``'test'``.
        num_classes (int): The number of class ids in the split file.

    Returns:
        tuple[list[str], Path]: The names, verbatim, and the first YAML
        file that holds them.

    Raises:
        AnnotationError: If no YAML holds the list, two disagree, or the
            length differs from ``num_classes``.
    """
    key = f'{RELEASED_NAME_KEYS[split]}.CLASS_NAME'
    configs = sorted(
        list(split_dir.glob('*.yaml')) + list(split_dir.glob('*.yml')))
    found = []
    for path in configs:
        names = _yaml_class_names(path, RELEASED_NAME_KEYS[split])
        if names is not None:
            found.append((path, names))
    if not found:
        looked = (f'none of {", ".join(p.name for p in configs)} holds it'
                  if configs else 'there is no *.yaml there')
        raise AnnotationError(
            f'--class-names released reads {key} from the YAML configs in '
            f'{split_dir}, but {looked}. Put the released config (e.g. '
            'CLIPFSAR_<dataset>_1shot_v1.yaml) in the split folder')
    source, names = found[0]
    for path, other in found[1:]:
        if other != names:
            diff = next(
                (i for i, (a, b) in enumerate(zip(names, other)) if a != b),
                min(len(names), len(other)))
            first = names[diff] if diff < len(names) else '<none>'
            second = other[diff] if diff < len(other) else '<none>'
            raise AnnotationError(
                f'{source} and {path} disagree on {key}: {len(names)} and '
                f'{len(other)} names, class {diff} is {first!r} in the '
                f'first and {second!r} in the second')
    if len(names) != num_classes:
        raise AnnotationError(
            f'{key} in {source} has {len(names)} class names but the '
            f'{split} split file has {num_classes} class ids')
    return names, source


def _encoder_name() -> str:
    """H.264 when this PyAV build can encode it, else MPEG-4 part 2."""
    import av
    try:
        av.codec.Codec('libx264', 'w')
        return 'libx264'
    except Exception:  # PyAV raises different types across versions.
        return 'mpeg4'


def convert_webm_to_mp4(src: str, dst: str) -> int:
    """Re-encode a video to an mp4 that decord reads, keeping every frame.

    The output is written to ``dst + '.part'`` and renamed when complete,
    so an interrupted run never leaves a truncated ``dst``.

    Args:
        src (str): The ``.webm`` (or any PyAV-readable) file.
        dst (str): The ``.mp4`` to write.

    Returns:
        int: The number of frames written.
    """
    import av
    tmp = dst + '.part'
    try:
        with av.open(src) as inp:
            in_stream = inp.streams.video[0]
            rate = in_stream.average_rate or in_stream.guessed_rate or 12
            # yuv420p (needed by most mp4 players) wants even sizes; SSv2
            # has odd widths, e.g. 427x240.
            width = max(2, in_stream.codec_context.width // 2 * 2)
            height = max(2, in_stream.codec_context.height // 2 * 2)
            with av.open(tmp, 'w', format='mp4') as out:
                stream = out.add_stream(_encoder_name(), rate=Fraction(rate))
                stream.width, stream.height = width, height
                stream.pix_fmt = 'yuv420p'
                num_frames = 0
                for frame in inp.decode(in_stream):
                    frame = frame.reformat(
                        width=width, height=height, format='yuv420p')
                    frame.pts = num_frames
                    frame.time_base = 1 / Fraction(rate)
                    out.mux(stream.encode(frame))
                    num_frames += 1
                out.mux(stream.encode(None))
        if num_frames == 0:
            raise ValueError(f'{src} has no decodable frames')
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return num_frames


def _convert_job(job: Tuple[str, str, str]) -> Tuple[str, Optional[str]]:
    """Pool worker: convert one video, returning ``(key, error or None)``."""
    key, src, dst = job
    try:
        convert_webm_to_mp4(src, dst)
        return key, None
    except Exception as e:  # A bad video must not stop the others.
        return key, f'{type(e).__name__}: {e}'


def convert_all(jobs: Sequence[Tuple[str, str, str]],
                workers: int = 1) -> Dict[str, str]:
    """Convert videos in parallel, printing progress.

    Args:
        jobs (Sequence[tuple]): ``(key, src, dst)`` per video.
        workers (int): Number of processes. Defaults to 1 (no pool).

    Returns:
        dict[str, str]: ``key -> error message`` of failed conversions.
    """
    if not jobs:
        return {}
    try:
        import av  # noqa: F401
    except ImportError as e:
        raise AnnotationError(
            '--convert-webm needs PyAV: pip install av') from e
    failures = {}
    step = max(1, len(jobs) // 20)
    print(f'converting {len(jobs)} .webm videos to .mp4 with {workers} '
          'worker(s)')
    if workers > 1:
        pool = Pool(workers)
        results = pool.imap_unordered(_convert_job, jobs, chunksize=4)
    else:
        pool, results = None, map(_convert_job, jobs)
    try:
        for done, (key, error) in enumerate(results, 1):
            if error is not None:
                failures[key] = error
            if done % step == 0 or done == len(jobs):
                print(
                    f'  converted {done}/{len(jobs)}, '
                    f'{len(failures)} failed',
                    flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    for key, error in sorted(failures.items())[:10]:
        print(f'  failed: {key}: {error}')
    if failures:
        print(f'{len(failures)} conversions failed; those videos are counted '
              'as missing')
    return failures


def clip_youtube_id(name: str) -> Tuple[str, Optional[Tuple[str, str]]]:
    """Split a Kinetics clip file name into YouTube id and time segment.

    Args:
        name (str): E.g. ``'-VtLx-mcPds_000012_000022.mp4'`` (CVDF) or
            ``'6Z267m0nKuo.mkv'``.

    Returns:
        tuple: The YouTube id and the ``(start, end)`` strings, or None
        where the name has no segment: ``('-VtLx-mcPds', ('000012',
        '000022'))``, ``('6Z267m0nKuo', None)``.
    """
    stem = name.rsplit('.', 1)[0]
    match = _CLIP_RE.fullmatch(stem)
    if match is None:
        return stem, None
    return match.group(1), (match.group(2), match.group(3))


def list_clips(folder: Path) -> Dict[str, List[str]]:
    """The video files of a folder by YouTube id.

    Args:
        folder (Path): A Kinetics class folder (may not exist).

    Returns:
        dict[str, list[str]]: YouTube id -> file names, sorted.
    """
    clips: Dict[str, List[str]] = {}
    if not folder.is_dir():
        return clips
    with os.scandir(folder) as it:
        names = sorted(
            e.name for e in it
            if e.name.endswith(KINETICS_EXTENSIONS) and e.is_file())
    for name in names:
        clips.setdefault(clip_youtube_id(name)[0], []).append(name)
    return clips


def locate_kinetics(entries: Sequence[SplitEntry], video_root: Path,
                    split_file: Path) -> Located:
    """Find Kinetics clips by YouTube id inside their class folder.

    A split line ``val_256/<label>/<name>`` is found as the file of that
    name, else as the one file of ``val_256/<label>/`` with the same
    YouTube id (and, where both names carry one, the same segment):
    ``<ytid>_<start>_<end>.mp4``, ``<ytid>.mp4``, ``.mkv`` or ``.webm``.

    Args:
        entries (Sequence[SplitEntry]): A parsed Kinetics-100 split file.
        video_root (Path): The folder of ``train_256/`` and ``val_256/``.
        split_file (Path): Its path, for error messages.

    Returns:
        tuple: See :func:`locate_videos`; ``reasons['renamed']`` counts the
        clips found under another name.

    Raises:
        AnnotationError: If two files of the class folder match a line.
    """
    found, missing = [], []
    folders: Dict[str, Dict[str, List[str]]] = {}
    renamed = 0
    for e in entries:
        folder, name = os.path.split(e.path)
        if (video_root / e.path).is_file():
            found.append((e.path, e.label))
            continue
        if folder not in folders:
            folders[folder] = list_clips(video_root / folder)
        ytid, segment = clip_youtube_id(name)
        candidates = folders[folder].get(ytid, [])
        if segment is not None and len(candidates) > 1:
            candidates = [
                c for c in candidates if clip_youtube_id(c)[1] == segment
            ] or candidates
        if len(candidates) > 1:
            raise AnnotationError(
                f'{split_file}, line {e.line_no}: {e.path!r} matches '
                f'{len(candidates)} files of YouTube id {ytid!r} in '
                f'{video_root / folder}: {", ".join(candidates)}. Keep one')
        if candidates:
            found.append((f'{folder}/{candidates[0]}', e.label))
            renamed += 1
        else:
            missing.append(e.path)
    return found, missing, {'renamed': renamed}


def _list_files(folder: Path) -> set:
    """Names of the files in ``folder`` (empty where it does not exist)."""
    if not folder.is_dir():
        return set()
    with os.scandir(folder) as it:
        return {e.name for e in it if e.is_file()}


def locate_ssv2(entries: Sequence[SplitEntry],
                video_root: Path,
                convert_webm: bool = False,
                workers: int = 1) -> Located:
    """Find SSv2 videos, converting ``.webm`` to ``.mp4`` only if asked.

    A video id is looked up as ``<id>.webm`` or ``<id>.mp4`` in
    ``video_root`` and in ``video_root/20bn-something-something-v2`` (the
    folder the video archive extracts to). ``.webm`` is read directly
    unless ``convert_webm``, which prefers an existing ``.mp4`` and else
    writes ``video_root/<id>.mp4`` from the ``.webm``.

    Args:
        entries (Sequence[SplitEntry]): A parsed SSv2 split file.
        video_root (Path): The folder annotation paths are relative to.
        convert_webm (bool): Convert to mp4. Defaults to False.
        workers (int): Conversion processes. Defaults to 1.

    Returns:
        tuple: See :func:`locate_videos`; ``reasons`` counts ``'webm'``
        (read as ``.webm``) and ``'failed'`` conversions.
    """
    folders = ('', f'{SSV2_VIDEO_FOLDER}/')
    files = {sub: _list_files(video_root / sub) for sub in folders}
    order = ('.mp4', '.webm') if convert_webm else ('.webm', '.mp4')

    def lookup(vid: str) -> Optional[str]:
        for ext in order:
            for sub in folders:
                if f'{vid}{ext}' in files[sub]:
                    return f'{sub}{vid}{ext}'
        return None

    paths = {e.path: lookup(e.path) for e in entries}
    jobs = []
    if convert_webm:
        for vid, rel in sorted(paths.items()):
            if rel is not None and rel.endswith('.webm'):
                jobs.append((vid, str(video_root / rel),
                             str(video_root / f'{vid}.mp4')))
                paths[vid] = f'{vid}.mp4'
    failures = convert_all(jobs, workers)
    found, missing = [], []
    for e in entries:
        rel = paths[e.path]
        if rel is None or e.path in failures:
            missing.append(e.path)
        else:
            found.append((rel, e.label))
    webm = sum(path.endswith('.webm') for path, _ in found)
    return found, missing, {'webm': webm, 'failed': len(failures)}


def locate_videos(dataset: str,
                  entries: Sequence[SplitEntry],
                  video_root: Path,
                  split_file: Path,
                  convert_webm: bool = False,
                  workers: int = 1) -> Located:
    """Find the listed videos among the user's files.

    Args:
        dataset (str): A key of :data:`DATASETS`.
        entries (Sequence[SplitEntry]): A parsed split file.
        video_root (Path): The folder the annotation paths are relative to.
        split_file (Path): Its path, for error messages.
        convert_webm (bool): SSv2: convert ``.webm`` to ``.mp4``.
        workers (int): Conversion processes.

    Returns:
        tuple: ``(found, missing, reasons)``: ``(relative path, label)`` of
        the videos found, the split-file paths of the others, and counts
        of how they were found or why not.
    """
    if is_ssv2(dataset):
        return locate_ssv2(entries, video_root, convert_webm, workers)
    if dataset == 'kinetics100':
        return locate_kinetics(entries, video_root, split_file)
    found, missing = [], []
    for e in entries:
        if (video_root / e.path).is_file():
            found.append((e.path, e.label))
        else:
            missing.append(e.path)
    return found, missing, {}


def build_split(dataset: str,
                split: str,
                split_dir: Path,
                video_root: Path,
                out_dir: Path,
                class_names: str = 'readable',
                templates: Optional[Dict[str, str]] = None,
                convert_webm: bool = False,
                workers: int = 1,
                dedup: bool = False) -> SplitReport:
    """Write ``<split>.txt``, ``<split>_classes.txt`` and, if any video is
    missing, ``<split>_missing.txt``, then print the split's report.

    Args:
        dataset (str): A key of :data:`DATASETS`.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        split_dir (Path): Folder of the split files (and released YAML
            configs).
        video_root (Path): See :func:`locate_videos`.
        out_dir (Path): Where the annotation files are written.
        class_names (str): ``'readable'`` (from folders or SSv2 templates)
            or ``'released'`` (the YAML configs' lists for train and test;
            val keeps readable names).
        templates (dict[str, str], optional): SSv2 id -> template; needed
            for SSv2 readable names.
        convert_webm (bool): See :func:`locate_ssv2`.
        workers (int): See :func:`locate_ssv2`.
        dedup (bool): See :func:`remove_duplicates`.

    Returns:
        SplitReport: What was written.
    """
    split_file = split_dir / f'{split}_few_shot.txt'
    entries = parse_split_file(split_file, split, DATASETS[dataset])
    entries, dropped = remove_duplicates(entries, split_file, dedup)
    num_classes = len({e.label for e in entries})
    readable = None
    if not is_ssv2(dataset):
        readable = folder_class_names(entries, split_file)
    elif templates is not None:
        readable = ssv2_class_names(entries, templates, split_file)
    if class_names == 'released' and split != 'val':
        names, source = load_released_names(split_dir, split, num_classes)
        source = f'{source} ({RELEASED_NAME_KEYS[split]}.CLASS_NAME)'
    elif readable is None:
        raise AnnotationError(
            f'SSv2 {split} class names come from the SSv2 label files: '
            'pass --ssv2-annotations DIR (the labels/ folder of the SSv2 '
            'label archive)' +
            ('; val has no released list, so build train and test only '
             'with --splits train test' if split == 'val' else ''))
    else:
        names, source = readable, f'the {split} split ({split_file})'
        if class_names == 'released':
            print('note: there is no released class-name list for val; '
                  'val_classes.txt holds readable names')
    check_unique_names(names, source)
    found, missing, reasons = locate_videos(dataset, entries, video_root,
                                            split_file, convert_webm, workers)

    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / f'{split}.txt', 'w', encoding='utf-8') as f:
        f.writelines(f'{path} {label}\n' for path, label in found)
    with open(out_dir / f'{split}_classes.txt', 'w', encoding='utf-8') as f:
        f.writelines(f'{name}\n' for name in names)
    missing_file = out_dir / f'{split}_missing.txt'
    if missing:
        with open(missing_file, 'w', encoding='utf-8') as f:
            f.writelines(f'{path}\n' for path in missing)
    elif missing_file.exists():
        missing_file.unlink()  # Stale list from an earlier run.

    counts = [0] * len(names)
    for _, label in found:
        counts[label] += 1
    report = SplitReport(
        split=split,
        class_names=names,
        listed=len(entries) + dropped,
        found=len(found),
        missing=missing,
        empty_classes=[i for i, n in enumerate(counts) if n == 0],
        failed_conversions=reasons.get('failed', 0),
        duplicates_removed=dropped,
        renamed=reasons.get('renamed', 0))
    print_report(dataset, report, out_dir, reasons)
    return report


def print_report(dataset: str, report: SplitReport, out_dir: Path,
                 reasons: Dict[str, int]) -> None:
    """Print one split's counts, missing videos and emptied classes."""
    print(f'{dataset} {report.split}: {len(report.class_names)} classes, '
          f'{report.listed} videos listed, {report.found} found, '
          f'{len(report.missing)} missing')
    if report.duplicates_removed:
        print(f'  --dedup: dropped {report.duplicates_removed} repeated '
              'lines of the split file')
    if report.renamed:
        print(f'  {report.renamed} clips found under another name than '
              'the split file\'s (same YouTube id, same class folder)')
    if reasons.get('webm'):
        print(f'  {reasons["webm"]} videos are read as .webm')
    if report.missing:
        print(f'  dropped {len(report.missing)} videos that are not among '
              f'your files from {report.split}.txt; listed in '
              f'{out_dir / (report.split + "_missing.txt")}')
    for i in report.empty_classes:
        print(
            f'WARNING: {dataset} {report.split} class {i} '
            f'({report.class_names[i]!r}) has no videos left: all of its '
            'videos are missing. Episodes cannot sample it.',
            file=sys.stderr)


def build_annotations(dataset: str,
                      split_dir: Path,
                      video_root: Path,
                      out_dir: Path,
                      class_names: str = 'readable',
                      ssv2_annotations: Optional[Path] = None,
                      convert_webm: bool = False,
                      workers: int = 1,
                      dedup: bool = False,
                      splits: Sequence[str] = SPLITS
                      ) -> Dict[str, SplitReport]:
    """Build the annotation files of the splits of a benchmark.

    Args:
        dataset (str): ``'hmdb51'``, ``'ucf101'``, ``'kinetics100'``,
            ``'ssv2_small'`` or ``'ssv2_full'``.
        split_dir (Path): Folder of ``{train,val,test}_few_shot.txt`` (and,
            for ``class_names='released'``, the released YAML configs).
        video_root (Path): The folder the annotation paths are relative to
            (the config's ``data_root``).
        out_dir (Path): Where the annotation files are written.
        class_names (str): ``'readable'`` or ``'released'``.
        ssv2_annotations (Path, optional): SSv2 only: the ``labels/``
            folder of the label archive. Needed for readable names and for
            val; released train and test names do without.
        convert_webm (bool): SSv2 only: convert ``.webm`` to
            ``video_root/<id>.mp4``.
        workers (int): Conversion processes.
        dedup (bool): Drop repeated split-file lines instead of failing.
        splits (Sequence[str]): The splits to build. Defaults to all.

    Returns:
        dict[str, SplitReport]: Per split.

    Raises:
        AnnotationError: On bad input; the message names the file (and
            line).
    """
    if dataset not in DATASETS:
        raise AnnotationError(
            f'unknown dataset {dataset!r}; choose from {", ".join(DATASETS)}')
    if class_names not in ('readable', 'released'):
        raise AnnotationError(
            f"class_names must be 'readable' or 'released', not "
            f'{class_names!r}')
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise AnnotationError(
            f'splits must be some of {", ".join(SPLITS)}, not {splits}')
    split_dir, video_root, out_dir = map(Path,
                                         (split_dir, video_root, out_dir))
    for split in splits:
        if not (split_dir / f'{split}_few_shot.txt').is_file():
            raise AnnotationError(
                f'split file {split_dir / (split + "_few_shot.txt")} '
                'does not exist')
    if not video_root.is_dir():
        raise AnnotationError(f'video root {video_root} is not a folder')
    if convert_webm and not is_ssv2(dataset):
        raise AnnotationError('--convert-webm applies to SSv2 only')
    templates = None
    if is_ssv2(dataset) and ssv2_annotations is not None:
        templates = load_ssv2_templates(Path(ssv2_annotations))
    reports = {}
    for split in SPLITS:
        if split in splits:
            reports[split] = build_split(dataset, split, split_dir, video_root,
                                         out_dir, class_names, templates,
                                         convert_webm, workers, dedup)
    return reports


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Build MMAction2 VideoDataset annotations '
        '(<split>.txt, <split>_classes.txt) from the standard few-shot '
        'split files.')
    parser.add_argument('--dataset', required=True, choices=list(DATASETS))
    parser.add_argument(
        '--split-dir',
        required=True,
        type=Path,
        help='folder of {train,val,test}_few_shot.txt (and the released '
        'YAML configs for --class-names released)')
    parser.add_argument(
        '--video-root',
        required=True,
        type=Path,
        help='folder the annotation paths are relative to (the config\'s '
        'data_root); for SSv2 the folder of <id>.webm, or of '
        '20bn-something-something-v2/<id>.webm')
    parser.add_argument(
        '--out-dir',
        required=True,
        type=Path,
        help='where the annotation files are written (the config\'s '
        'ann_root)')
    parser.add_argument(
        '--class-names',
        default='readable',
        choices=['readable', 'released'],
        help='readable: from folder names / SSv2 templates (default); '
        'released: TRAIN.CLASS_NAME / TEST.CLASS_NAME of the YAML configs '
        'in --split-dir, verbatim (val stays readable)')
    parser.add_argument(
        '--ssv2-annotations',
        type=Path,
        help='SSv2: the labels/ folder of the label archive (train.json, '
        'validation.json)')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=list(SPLITS),
        default=list(SPLITS),
        help='splits to build (default: all three)')
    parser.add_argument(
        '--dedup',
        action='store_true',
        help='keep the first of repeated split-file lines instead of '
        'failing; the dropped lines are counted')
    parser.add_argument(
        '--convert-webm',
        action='store_true',
        help='SSv2: convert <id>.webm to <video-root>/<id>.mp4 and list the '
        'mp4 (default: read .webm directly)')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8,
                    os.cpu_count() or 1),
        help='processes for --convert-webm')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status."""
    args = parse_args(argv)
    try:
        build_annotations(args.dataset, args.split_dir, args.video_root,
                          args.out_dir, args.class_names,
                          args.ssv2_annotations, args.convert_webm,
                          max(1, args.workers), args.dedup, args.splits)
    except AnnotationError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
