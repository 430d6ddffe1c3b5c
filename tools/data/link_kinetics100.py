"""Lay out Kinetics-100 from a CVDF Kinetics-400 download, as symlinks.

The CVDF download (``k400_downloader.sh`` then ``k400_extractor.sh``) puts
the clips in flat folders, ``k400/{train,val,test}/<ytid>_<start>_<end>.mp4``
plus ``k400/replacement/replacement_for_corrupted_k400/``, with the labels in
``train.csv``, ``val.csv`` and ``test.csv``. The Kinetics-100 split files
list ``train_256/<label>/<clip>`` and ``val_256/<label>/<clip>``. This tool
finds each listed clip in the download by YouTube id and links it into
that tree (``<out>/train_256/<label>/<downloaded file name>``), so that
``build_fsar_annotations.py --dataset kinetics100`` finds it.

It prints, per split, how many listed clips were linked and how many are
absent from the download, and writes the absent ones to
``<out>/absent_from_download.txt`` (``<split file>:<line> <path>``, and
whether a CVDF CSV lists the clip). Nothing else is called missing.

Example::

    python tools/data/link_kinetics100.py \\
        --split-dir data/CLIP-FSAR/configs/projects/CLIPFSAR/kinetics100 \\
        --download data/k400 --out data/kinetics100
"""
import argparse
import csv
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_fsar_annotations import KINETICS_EXTENSIONS  # noqa: E402
from build_fsar_annotations import (SPLITS, AnnotationError, clip_youtube_id,
                                    parse_split_file, remove_duplicates)

CSV_NAMES = ('train.csv', 'val.csv', 'test.csv')
ABSENT_FILE = 'absent_from_download.txt'


@dataclass
class LinkReport:
    """What :func:`link_kinetics100` did for one split.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        listed (int): Clips in the split file.
        linked (int): Clips linked (or already in place).
        absent (list[str]): Split-file paths of the clips the download
            lacks.
        relabelled (list[str]): Split-file paths whose CSV label differs
            from the split's class folder (linked all the same).
    """
    split: str
    listed: int
    linked: int = 0
    absent: List[str] = field(default_factory=list)
    relabelled: List[str] = field(default_factory=list)


def index_download(download: Path) -> Dict[str, List[Path]]:
    """Every video file under ``download`` by YouTube id.

    Args:
        download (Path): The CVDF ``k400`` folder.

    Returns:
        dict[str, list[Path]]: YouTube id -> files, the replacement clips
        (a path with a ``replacement`` folder) first, then by path.
    """
    index: Dict[str, List[Path]] = {}
    for folder, _, names in os.walk(download, followlinks=True):
        for name in names:
            if name.endswith(KINETICS_EXTENSIONS):
                index.setdefault(clip_youtube_id(name)[0],
                                 []).append(Path(folder) / name)
    for files in index.values():
        files.sort(key=lambda p: ('replacement' not in p.parts, str(p)))
    return index


def read_cvdf_csvs(paths: Sequence[Path]
                   ) -> Dict[str, Tuple[Optional[str], str]]:
    """YouTube id -> (label, CSV file name) from CVDF annotation CSVs.

    Args:
        paths (Sequence[Path]): CSVs with a ``youtube_id`` column and
            usually a ``label`` one (``train.csv``, ``val.csv``,
            ``test.csv``).

    Returns:
        dict[str, tuple]: Per YouTube id; the label is None where the CSV
        has no ``label`` column.

    Raises:
        AnnotationError: If a CSV has no ``youtube_id`` column.
    """
    labels = {}
    for path in paths:
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            if 'youtube_id' not in (reader.fieldnames or ()):
                raise AnnotationError(
                    f'{path} has no youtube_id column (header: '
                    f'{reader.fieldnames}); expected a CVDF Kinetics CSV')
            for row in reader:
                labels[row['youtube_id']] = (row.get('label'), path.name)
    return labels


def find_csvs(download: Path) -> List[Path]:
    """The CVDF CSVs in ``download`` or ``download/annotations``."""
    found = []
    for name in CSV_NAMES:
        for folder in (download, download / 'annotations'):
            if (folder / name).is_file():
                found.append(folder / name)
                break
    return found


def _pick(files: List[Path], segment: Optional[Tuple[str, str]],
          where: str) -> Path:
    """The downloaded file of a clip among those of its YouTube id."""
    replacements = [p for p in files if 'replacement' in p.parts]
    candidates = replacements or files
    if segment is not None and len(candidates) > 1:
        candidates = [
            p for p in candidates if clip_youtube_id(p.name)[1] == segment
        ] or candidates
    if len(candidates) > 1:
        raise AnnotationError(
            f'{where}: the download has {len(candidates)} files of this '
            f'YouTube id: {", ".join(map(str, candidates))}')
    return candidates[0]


def _link(src: Path, dst: Path) -> None:
    """Symlink ``dst`` to ``src``, replacing our earlier links of the same
    clip; a regular file already at ``dst`` is kept."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    ytid = clip_youtube_id(dst.name)[0]
    with os.scandir(dst.parent) as it:
        stale = [
            Path(e.path) for e in it if e.is_symlink() and e.name != dst.name
            and clip_youtube_id(e.name)[0] == ytid
        ]
    for path in stale:
        path.unlink()
    if dst.is_symlink():
        if os.readlink(dst) == str(src):
            return
        dst.unlink()
    elif dst.exists():
        return
    dst.symlink_to(src)


def link_kinetics100(split_dir: Path,
                     download: Path,
                     out: Path,
                     csvs: Optional[Sequence[Path]] = None,
                     dedup: bool = False) -> Dict[str, LinkReport]:
    """Link the Kinetics-100 clips of a CVDF download into ``out``.

    Args:
        split_dir (Path): Folder of the Kinetics-100
            ``{train,val,test}_few_shot.txt``.
        download (Path): The CVDF ``k400`` folder (searched recursively).
        out (Path): The Kinetics-100 root to fill (``train_256/``,
            ``val_256/``); the config's ``data_root``.
        csvs (Sequence[Path], optional): CVDF CSVs to check labels against.
            Defaults to those found in ``download`` or
            ``download/annotations``.
        dedup (bool): Drop repeated split-file lines instead of failing.

    Returns:
        dict[str, LinkReport]: Per split.

    Raises:
        AnnotationError: On a bad split or CSV file, or a clip with two
            candidate files in the download.
    """
    split_dir, download, out = Path(split_dir), Path(download), Path(out)
    if not download.is_dir():
        raise AnnotationError(f'download folder {download} does not exist')
    entries = {}
    for split in SPLITS:
        split_file = split_dir / f'{split}_few_shot.txt'
        parsed = parse_split_file(split_file, split, '//')
        entries[split] = remove_duplicates(parsed, split_file, dedup)[0]
    csvs = find_csvs(download) if csvs is None else [Path(p) for p in csvs]
    labels = read_cvdf_csvs(csvs)
    if not csvs:
        print(f'note: no {", ".join(CSV_NAMES)} in {download} or '
              f'{download / "annotations"}: labels are not checked')
    index = index_download(download)
    print(f'{sum(map(len, index.values()))} video files in {download}')

    reports = {}
    absent_lines = []
    for split in SPLITS:
        report = LinkReport(split, len(entries[split]))
        for e in entries[split]:
            folder, name = os.path.split(e.path)
            ytid, segment = clip_youtube_id(name)
            where = f'{split}_few_shot.txt, line {e.line_no} ({e.path})'
            if ytid not in index:
                report.absent.append(e.path)
                listed = labels.get(ytid)
                note = (f'listed in {listed[1]}'
                        if listed else 'in no CVDF CSV')
                absent_lines.append(
                    f'{split}_few_shot.txt:{e.line_no} {e.path} ({note})\n')
                continue
            src = _pick(index[ytid], segment, where)
            _link(src.absolute(), out / folder / src.name)
            report.linked += 1
            label = labels.get(ytid, (None, ))[0]
            if label is not None and label.replace(
                    ' ', '_') != os.path.basename(folder):
                report.relabelled.append(f'{e.path} ({label!r})')
        reports[split] = report
        print(f'kinetics100 {split}: {report.listed} clips listed, '
              f'{report.linked} linked, {len(report.absent)} absent from '
              'the download')
        if report.relabelled:
            print(f'  WARNING: {len(report.relabelled)} linked clips have '
                  'another label in the CVDF CSVs than their split class, '
                  f'e.g. {"; ".join(report.relabelled[:3])}')
    absent_file = out / ABSENT_FILE
    if absent_lines:
        out.mkdir(parents=True, exist_ok=True)
        absent_file.write_text(''.join(absent_lines), encoding='utf-8')
        print(f'{len(absent_lines)} listed clips are absent from the '
              f'download; they are listed in {absent_file}')
    elif absent_file.exists():
        absent_file.unlink()  # Stale list from an earlier run.
    return reports


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Link the Kinetics-100 clips of a CVDF Kinetics-400 '
        'download into train_256/ and val_256/ class folders.')
    parser.add_argument(
        '--split-dir',
        required=True,
        type=Path,
        help='folder of the Kinetics-100 {train,val,test}_few_shot.txt')
    parser.add_argument(
        '--download',
        required=True,
        type=Path,
        help='the CVDF k400 folder (train/, val/, test/, replacement/)')
    parser.add_argument(
        '--out',
        required=True,
        type=Path,
        help='the Kinetics-100 root to fill (the config\'s data_root)')
    parser.add_argument(
        '--csv',
        nargs='+',
        type=Path,
        help='CVDF CSVs to check labels against (default: train.csv, '
        'val.csv, test.csv found in --download or --download/annotations)')
    parser.add_argument(
        '--dedup',
        action='store_true',
        help='keep the first of repeated split-file lines instead of '
        'failing')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status."""
    args = parse_args(argv)
    try:
        link_kinetics100(args.split_dir, args.download, args.out, args.csv,
                         args.dedup)
    except AnnotationError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
