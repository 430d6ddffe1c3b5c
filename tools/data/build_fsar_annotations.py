"""Build MMAction2 annotation files from the standard few-shot splits.

The few-shot action recognition benchmarks (HMDB51, UCF101, Kinetics-100,
SSv2-Small, SSv2-Full) ship as split files ``{train,val,test}_few_shot.txt``
with one video per line, ``<split><class id><sep><path>`` (SPEC 7.1). This
tool turns them into what the mmfsar configs read under ``ann_root``:

- ``<split>.txt``: ``VideoDataset`` lines ``relative/path label``, with the
  split-local class id (0..C-1) as label;
- ``<split>_classes.txt``: line i is the name of class i, the text the
  CLIP text encoder sees;
- ``<split>_missing.txt``: the split-file paths of listed videos that are
  not on disk (written only when there are some). They are dropped from
  ``<split>.txt`` and counted in the printed report, never silently.

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
SSV2_ANNOTATION_FILES = ('something-something-v2-train.json',
                         'something-something-v2-validation.json')
_LINE_RE = re.compile(r'([A-Za-z_]+)(\d+)(/+)(.*)')
_CAMEL_RE = re.compile(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])')

# (relative path, label) of found videos, split-file paths of missing ones,
# and counts of why SSv2 videos are missing.
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
    """
    split: str
    class_names: List[str]
    listed: int
    found: int
    missing: List[str] = field(default_factory=list)
    empty_classes: List[int] = field(default_factory=list)
    failed_conversions: int = 0


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


def load_ssv2_templates(ann_dir: Optional[Path]) -> Dict[str, str]:
    """Map SSv2 video ids to their templates.

    Args:
        ann_dir (Path, optional): The folder with the official
            ``something-something-v2-{train,validation}.json``.

    Returns:
        dict[str, str]: Video id -> template, e.g.
        ``'Pouring [something] into [something]'``.

    Raises:
        AnnotationError: If ``ann_dir`` is None or lacks a file.
    """
    needed = ' and '.join(SSV2_ANNOTATION_FILES)
    if ann_dir is None:
        raise AnnotationError(
            'SSv2 class names come from the official SSv2 annotations: '
            f'pass --ssv2-annotations DIR with {needed} (from the '
            'something-something v2 download page)')
    templates = {}
    for name in SSV2_ANNOTATION_FILES:
        path = Path(ann_dir) / name
        if not path.is_file():
            raise AnnotationError(
                f'{path} does not exist; --ssv2-annotations must hold '
                f'{needed}')
        with open(path, encoding='utf-8') as f:
            try:
                items = json.load(f)
                templates.update(
                    (str(item['id']), item['template']) for item in items)
            except (ValueError, KeyError, TypeError) as e:
                raise AnnotationError(
                    f'{path} is not an SSv2 annotation list of objects '
                    f"with 'id' and 'template': {e!r}") from e
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
        AnnotationError: If a video id has no annotation or two videos of
            one class id have different templates.
    """
    unknown = [e for e in entries if e.path not in templates]
    if unknown:
        shown = ', '.join(f'{e.path} (line {e.line_no})' for e in unknown[:5])
        raise AnnotationError(
            f'{len(unknown)} video ids of {split_file} are not in '
            f'{" or ".join(SSV2_ANNOTATION_FILES)}: {shown}')
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


def load_released_names(path: Path, num_classes: int) -> List[str]:
    """Read a released class-name list (line i = class id i), verbatim.

    Args:
        path (Path): ``classnames_train.txt`` or ``classnames_test.txt``.
        num_classes (int): The number of class ids in the split file.

    Returns:
        list[str]: The names.

    Raises:
        AnnotationError: If the file is absent or its length differs from
            ``num_classes``.
    """
    if not path.is_file():
        raise AnnotationError(
            f'--class-names released needs {path}, which does not exist')
    names = path.read_text(encoding='utf-8').splitlines()
    while names and not names[-1].strip():
        names.pop()
    if len(names) != num_classes:
        raise AnnotationError(
            f'{path} has {len(names)} class names but the split file has '
            f'{num_classes} class ids')
    return names


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


def locate_videos(dataset: str,
                  entries: Sequence[SplitEntry],
                  video_root: Path,
                  mp4_root: Path,
                  convert_webm: bool = False,
                  workers: int = 1) -> Located:
    """Find the listed videos on disk, converting SSv2 ``.webm`` if asked.

    Args:
        dataset (str): A key of :data:`DATASETS`.
        entries (Sequence[SplitEntry]): A parsed split file.
        video_root (Path): The dataset root the split paths are relative
            to (SSv2: the folder of ``<id>.mp4`` or ``<id>.webm``).
        mp4_root (Path): SSv2 only: the folder of the ``<id>.mp4`` files,
            where converted videos are written.
        convert_webm (bool): Convert SSv2 ``.webm`` without ``.mp4``.
        workers (int): Conversion processes.

    Returns:
        tuple: ``(found, missing, reasons)``: ``(relative path, label)`` of
        the videos on disk, the split-file paths of the others, and counts
        of why SSv2 videos are missing (``'webm only'``, ``'failed'``).
    """
    found, missing, reasons = [], [], {}
    if not is_ssv2(dataset):
        for e in entries:
            if (video_root / e.path).is_file():
                found.append((e.path, e.label))
            else:
                missing.append(e.path)
        return found, missing, reasons
    jobs = []
    webm_only = set()
    for e in entries:
        mp4 = mp4_root / f'{e.path}.mp4'
        webm = video_root / f'{e.path}.webm'
        if not mp4.is_file() and webm.is_file():
            if convert_webm:
                jobs.append((e.path, str(webm), str(mp4)))
            else:
                webm_only.add(e.path)
    failures = convert_all(jobs, workers)
    for e in entries:
        if e.path not in failures and e.path not in webm_only and (
                mp4_root / f'{e.path}.mp4').is_file():
            found.append((f'{e.path}.mp4', e.label))
        else:
            missing.append(e.path)
    reasons = {'webm only': len(webm_only), 'failed': len(failures)}
    return found, missing, reasons


def build_split(dataset: str,
                split: str,
                split_dir: Path,
                video_root: Path,
                out_dir: Path,
                class_names: str = 'readable',
                templates: Optional[Dict[str, str]] = None,
                mp4_root: Optional[Path] = None,
                convert_webm: bool = False,
                workers: int = 1) -> SplitReport:
    """Write ``<split>.txt``, ``<split>_classes.txt`` and, if any video is
    missing, ``<split>_missing.txt``, then print the split's report.

    Args:
        dataset (str): A key of :data:`DATASETS`.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        split_dir (Path): Folder of the split (and class-name) files.
        video_root (Path): See :func:`locate_videos`.
        out_dir (Path): Where the annotation files are written.
        class_names (str): ``'readable'`` (from folders or SSv2 templates)
            or ``'released'`` (``classnames_<split>.txt`` for train and
            test; val keeps readable names).
        templates (dict[str, str], optional): SSv2 id -> template.
        mp4_root (Path, optional): See :func:`locate_videos`. Defaults to
            ``video_root``.
        convert_webm (bool): See :func:`locate_videos`.
        workers (int): See :func:`locate_videos`.

    Returns:
        SplitReport: What was written.
    """
    split_file = split_dir / f'{split}_few_shot.txt'
    entries = parse_split_file(split_file, split, DATASETS[dataset])
    if is_ssv2(dataset):
        names = ssv2_class_names(entries, templates or {}, split_file)
    else:
        names = folder_class_names(entries, split_file)
    if class_names == 'released':
        if split == 'val':
            print('note: there is no released class-name list for val; '
                  'val_classes.txt holds readable names')
        else:
            names = load_released_names(split_dir / f'classnames_{split}.txt',
                                        len(names))
    found, missing, reasons = locate_videos(dataset, entries, video_root,
                                            mp4_root or video_root,
                                            convert_webm, workers)

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
        listed=len(entries),
        found=len(found),
        missing=missing,
        empty_classes=[i for i, n in enumerate(counts) if n == 0],
        failed_conversions=reasons.get('failed', 0))
    print_report(dataset, report, out_dir, reasons)
    return report


def print_report(dataset: str, report: SplitReport, out_dir: Path,
                 reasons: Dict[str, int]) -> None:
    """Print one split's counts, missing videos and emptied classes."""
    print(f'{dataset} {report.split}: {len(report.class_names)} classes, '
          f'{report.listed} videos listed, {report.found} found, '
          f'{len(report.missing)} missing')
    if report.missing:
        print(f'  dropped {len(report.missing)} missing videos from '
              f'{report.split}.txt; listed in '
              f'{out_dir / (report.split + "_missing.txt")}')
        if reasons.get('webm only'):
            print(f'  {reasons["webm only"]} of them exist only as .webm: '
                  'rerun with --convert-webm to convert them to .mp4')
        if dataset == 'kinetics100':
            print('  (expected for Kinetics-100: some clips are no longer '
                  'downloadable)')
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
                      mp4_root: Optional[Path] = None,
                      workers: int = 1) -> Dict[str, SplitReport]:
    """Build the annotation files of all three splits of a benchmark.

    Args:
        dataset (str): ``'hmdb51'``, ``'ucf101'``, ``'kinetics100'``,
            ``'ssv2_small'`` or ``'ssv2_full'``.
        split_dir (Path): Folder of ``{train,val,test}_few_shot.txt`` (and
            ``classnames_{train,test}.txt`` for ``class_names='released'``).
        video_root (Path): The dataset root the split paths are relative
            to; for SSv2 the folder of ``<id>.mp4`` / ``<id>.webm``.
        out_dir (Path): Where the annotation files are written.
        class_names (str): ``'readable'`` or ``'released'``.
        ssv2_annotations (Path, optional): SSv2 only: the folder with the
            official ``something-something-v2-{train,validation}.json``.
        convert_webm (bool): SSv2 only: convert ``<id>.webm`` without an
            ``<id>.mp4`` into ``mp4_root``.
        mp4_root (Path, optional): SSv2 only: folder of the ``.mp4`` files
            (annotation paths are relative to it). Defaults to
            ``video_root``.
        workers (int): Conversion processes.

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
    split_dir, video_root, out_dir = map(Path,
                                         (split_dir, video_root, out_dir))
    for split in SPLITS:
        if not (split_dir / f'{split}_few_shot.txt').is_file():
            raise AnnotationError(
                f'split file {split_dir / (split + "_few_shot.txt")} '
                'does not exist')
    if not video_root.is_dir():
        raise AnnotationError(f'video root {video_root} is not a folder')
    templates = None
    if is_ssv2(dataset):
        templates = load_ssv2_templates(ssv2_annotations)
        mp4_root = Path(mp4_root) if mp4_root else video_root
        mp4_root.mkdir(parents=True, exist_ok=True)
    elif convert_webm or mp4_root is not None:
        raise AnnotationError(
            '--convert-webm and --mp4-root apply to SSv2 only')
    reports = {}
    for split in SPLITS:
        reports[split] = build_split(dataset, split, split_dir, video_root,
                                     out_dir, class_names, templates, mp4_root,
                                     convert_webm, workers)
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
        help='folder of {train,val,test}_few_shot.txt (and '
        'classnames_{train,test}.txt)')
    parser.add_argument(
        '--video-root',
        required=True,
        type=Path,
        help='dataset root the split paths are relative to; for SSv2 the '
        'folder of <id>.mp4 or <id>.webm')
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
        'released: classnames_{train,test}.txt verbatim (val stays '
        'readable)')
    parser.add_argument(
        '--ssv2-annotations',
        type=Path,
        help='SSv2: folder of something-something-v2-train.json and '
        'something-something-v2-validation.json')
    parser.add_argument(
        '--convert-webm',
        action='store_true',
        help='SSv2: convert <id>.webm without <id>.mp4 to mp4')
    parser.add_argument(
        '--mp4-root',
        type=Path,
        help='SSv2: folder of the <id>.mp4 files, where converted videos '
        'go; annotation paths are relative to it (default: --video-root)')
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
                          args.mp4_root, max(1, args.workers))
    except AnnotationError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
