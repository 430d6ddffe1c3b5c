"""Tests for tools/data/build_fsar_annotations.py on the real split files."""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / 'tools' / 'data' / 'build_fsar_annotations.py'
SPLITS_DIR = Path(
    os.environ.get('MMFSAR_SPLITS_DIR',
                   REPO_ROOT.parent / 'shared' / 'splits'))

pytestmark = pytest.mark.skipif(
    not SPLITS_DIR.is_dir(),
    reason=f'few-shot split files not found at {SPLITS_DIR} (set '
    'MMFSAR_SPLITS_DIR to the folder of <dataset>/*_few_shot.txt)')

# SPEC 7.2: (classes, videos) per split.
EXPECTED = {
    'ssv2_full': dict(train=(64, 67013), val=(12, 1926), test=(24, 2857)),
    'ssv2_small': dict(train=(64, 6400), val=(12, 1200), test=(24, 2400)),
    'kinetics100': dict(train=(64, 6400), val=(12, 1200), test=(24, 2400)),
    'ucf101': dict(train=(70, 9154), val=(10, 1421), test=(21, 2745)),
    'hmdb51': dict(train=(31, 4280), val=(10, 1194), test=(10, 1292)),
}
SPLITS = ('train', 'val', 'test')


def _load_tool():
    """Import the tool as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location('build_fsar_annotations',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    # Registered so that Pool workers can unpickle its functions.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _load_tool()


def _split_lines(dataset, split):
    """(class id, path) of each line of a real split file."""
    sep = '/' if dataset.startswith('ssv2') else '//'
    text = (SPLITS_DIR / dataset / f'{split}_few_shot.txt').read_text()
    pairs = []
    for line in text.split():
        head, path = line.split(sep, 1)
        pairs.append((int(head[len(split):]), path))
    return pairs


def _make_placeholders(dataset, root):
    """Create an empty file for every listed video under ``root``."""
    for split in SPLITS:
        paths = [p for _, p in _split_lines(dataset, split)]
        if dataset.startswith('ssv2'):
            paths = [f'{p}.mp4' for p in paths]
        for folder in {os.path.dirname(p) for p in paths}:
            os.makedirs(root / folder, exist_ok=True)
        for p in paths:
            os.close(os.open(root / p, os.O_CREAT | os.O_WRONLY, 0o644))


def _val_template(i):
    return f'Doing val class {i} with [something]'


def _write_ssv2_annotations(dataset, ann_dir):
    """Fake official SSv2 JSONs: one template per class id of each split,
    the released name (itself a template) for train/test."""
    ann_dir.mkdir(parents=True, exist_ok=True)
    items = {'train': [], 'validation': []}
    for split in SPLITS:
        if split == 'val':
            names = None
        else:
            names = (SPLITS_DIR / dataset /
                     f'classnames_{split}.txt').read_text().splitlines()
        for label, vid in _split_lines(dataset, split):
            template = _val_template(label) if names is None else names[label]
            # Spread ids over both files, as in the real dataset.
            key = 'train' if int(vid) % 2 else 'validation'
            items[key].append(
                dict(id=vid, label=template.lower(), template=template))
    for key, values in items.items():
        with open(ann_dir / f'something-something-v2-{key}.json', 'w') as f:
            json.dump(values, f)
    return ann_dir


def _read_ann(path):
    lines = Path(path).read_text().splitlines()
    return [(line.rsplit(' ', 1)[0], int(line.rsplit(' ', 1)[1]))
            for line in lines]


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """Per dataset (built on first use): a placeholder video root and the
    in-process tool's output with readable names."""
    cache = {}

    def get(dataset):
        if dataset not in cache:
            base = tmp_path_factory.mktemp(dataset)
            root = base / 'videos'
            _make_placeholders(dataset, root)
            ann = None
            if dataset.startswith('ssv2'):
                ann = _write_ssv2_annotations(dataset, base / 'ssv2_json')
            out = base / 'annotations'
            reports = tool.build_annotations(
                dataset, SPLITS_DIR / dataset, root, out, ssv2_annotations=ann)
            cache[dataset] = dict(
                root=root, ann=ann, out=out, reports=reports, base=base)
        return cache[dataset]

    return get


@pytest.mark.parametrize('dataset', list(EXPECTED))
def test_counts_match_spec(prepared, dataset):
    result = prepared(dataset)
    out = result['out']
    for split, (num_classes, num_videos) in EXPECTED[dataset].items():
        report = result['reports'][split]
        assert (len(report.class_names), report.listed, report.found,
                len(report.missing)) == (num_classes, num_videos, num_videos,
                                         0)
        ann = _read_ann(out / f'{split}.txt')
        assert len(ann) == num_videos
        assert {label for _, label in ann} == set(range(num_classes))
        names = (out / f'{split}_classes.txt').read_text().splitlines()
        assert len(names) == num_classes
        assert len(set(names)) == num_classes
        assert not (out / f'{split}_missing.txt').exists()
        # Labels and paths are those of the split file, in its order.
        expected = [(f'{p}.mp4' if dataset.startswith('ssv2') else p, c)
                    for c, p in _split_lines(dataset, split)]
        assert ann == expected
        for path, _ in ann[:50]:
            assert (result['root'] / path).is_file()


@pytest.mark.parametrize('dataset', ['hmdb51', 'ucf101', 'kinetics100'])
def test_readable_names_match_released_names(prepared, dataset):
    """SPEC 7.2: class i's folder is the released name i up to case, '_'
    and spaces."""
    out = prepared(dataset)['out']
    for split in ('train', 'test'):
        names = (out / f'{split}_classes.txt').read_text().splitlines()
        released = (SPLITS_DIR / dataset /
                    f'classnames_{split}.txt').read_text().splitlines()

        def squash(s):
            return re.sub(r'[\s_]', '', s.lower())

        assert [squash(n) for n in names] == [squash(n) for n in released]
        for name in names:
            assert name == name.lower()
            assert '_' not in name and '  ' not in name


def test_readable_name_examples(prepared):
    hmdb = (prepared('hmdb51')['out'] /
            'train_classes.txt').read_text().splitlines()
    ucf = (prepared('ucf101')['out'] /
           'train_classes.txt').read_text().splitlines()
    assert hmdb[0] == 'brush hair'
    assert 'draw sword' in hmdb
    assert ucf[0] == 'apply eye makeup'
    assert 'yo yo' in ucf
    assert 'blow dry hair' in ucf
    assert tool.readable_name('air_drumming') == 'air drumming'
    assert tool.readable_name('hurling_(sport)') == 'hurling (sport)'
    assert tool.readable_name('YoYo') == 'yo yo'
    assert tool.readable_name('ABCCamera__Test') == 'abc camera test'


def test_ssv2_names_from_templates(prepared):
    out = prepared('ssv2_small')['out']
    train = (out / 'train_classes.txt').read_text().splitlines()
    released = (SPLITS_DIR / 'ssv2_small' /
                'classnames_train.txt').read_text().splitlines()
    assert released[0] == 'Pouring [something] into [something]'
    assert train[0] == 'Pouring something into something'
    assert train == [re.sub(r'[\[\]]', '', n) for n in released]
    val = (out / 'val_classes.txt').read_text().splitlines()
    assert val == [f'Doing val class {i} with something' for i in range(12)]


def test_released_class_names(prepared, tmp_path, capsys):
    base = prepared('ucf101')
    out = tmp_path / 'released'
    tool.build_annotations(
        'ucf101',
        SPLITS_DIR / 'ucf101',
        base['root'],
        out,
        class_names='released')
    for split in ('train', 'test'):
        released = SPLITS_DIR / 'ucf101' / f'classnames_{split}.txt'
        assert (out / f'{split}_classes.txt').read_text() == \
            released.read_text()
    train_names = (out / 'train_classes.txt').read_text()
    assert train_names.startswith('Apply Eye Makeup\n')
    # No released val list: val keeps the readable names, with a note.
    readable_val = (base['out'] / 'val_classes.txt').read_text()
    assert (out / 'val_classes.txt').read_text() == readable_val
    assert 'no released class-name list for val' in capsys.readouterr().out


def test_released_names_count_mismatch(prepared, tmp_path):
    split_dir = tmp_path / 'splits'
    split_dir.mkdir()
    for name in os.listdir(SPLITS_DIR / 'hmdb51'):
        text = (SPLITS_DIR / 'hmdb51' / name).read_text()
        if name == 'classnames_test.txt':
            text = ''.join(text.splitlines(keepends=True)[:-1])
        (split_dir / name).write_text(text)
    with pytest.raises(
            tool.AnnotationError,
            match=r'classnames_test\.txt has 9 class names but '
            r'the split file has 10'):
        tool.build_annotations(
            'hmdb51',
            split_dir,
            prepared('hmdb51')['root'],
            tmp_path / 'out',
            class_names='released')


def test_missing_videos_reported_and_dropped(prepared, tmp_path, capsys):
    root = tmp_path / 'videos'
    _make_placeholders('hmdb51', root)
    train = _split_lines('hmdb51', 'train')
    test = _split_lines('hmdb51', 'test')
    removed_train = [train[i][1] for i in (0, 5, 4000)]
    # Every video of test class 3 disappears.
    removed_test = [p for c, p in test if c == 3]
    for p in removed_train + removed_test:
        (root / p).unlink()
    out = tmp_path / 'out'
    reports = tool.build_annotations('hmdb51', SPLITS_DIR / 'hmdb51', root,
                                     out)
    captured = capsys.readouterr()

    assert 'hmdb51 train: 31 classes, 4280 videos listed, 4277 found, ' \
        '3 missing' in captured.out
    assert (out / 'train_missing.txt').read_text().splitlines() == \
        removed_train
    ann = _read_ann(out / 'train.txt')
    assert len(ann) == 4277
    assert not set(removed_train) & {p for p, _ in ann}

    assert reports['test'].missing == removed_test
    assert reports['test'].empty_classes == [3]
    assert f'1292 videos listed, {1292 - len(removed_test)} found, ' \
        f'{len(removed_test)} missing' in captured.out
    assert re.search(r"WARNING: .*class 3 \('pick'\) has no videos left",
                     captured.err)
    # The numbering is kept: 10 names, the empty class included.
    test_names = (out / 'test_classes.txt').read_text().splitlines()
    assert len(test_names) == 10 and test_names[3] == 'pick'
    assert {label for _, label in _read_ann(out / 'test.txt')} == \
        set(range(10)) - {3}
    assert not (out / 'val_missing.txt').exists()


def test_cli_subprocess(prepared, tmp_path):
    base = prepared('ssv2_small')
    missing_id = _split_lines('ssv2_small', 'val')[7][1]
    root = tmp_path / 'ssv2'
    root.mkdir()
    for p in base['root'].iterdir():
        if p.name != f'{missing_id}.mp4':
            os.symlink(p, root / p.name)
    (root / f'{missing_id}.webm').touch()
    out = tmp_path / 'annotations'
    cmd = [
        sys.executable,
        str(TOOL), '--dataset', 'ssv2_small', '--split-dir',
        str(SPLITS_DIR / 'ssv2_small'), '--video-root',
        str(root), '--out-dir',
        str(out), '--ssv2-annotations',
        str(base['ann']), '--class-names', 'released'
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'ssv2_small val: 12 classes, 1200 videos listed, 1199 found, ' \
        '1 missing' in proc.stdout
    assert '--convert-webm' in proc.stdout
    assert (out / 'val_missing.txt').read_text() == f'{missing_id}\n'
    assert (out / 'test_classes.txt').read_text() == (
        SPLITS_DIR / 'ssv2_small' / 'classnames_test.txt').read_text()
    assert _read_ann(out / 'train.txt')[0] == ('51958.mp4', 0)

    # Without the SSv2 annotations: exit status 1, naming the files.
    proc = subprocess.run(
        cmd[:cmd.index('--ssv2-annotations')],
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 1
    assert 'something-something-v2-train.json' in proc.stderr
    assert 'something-something-v2-validation.json' in proc.stderr


def _write_webm(path, width, height, num_frames):
    # In a fresh interpreter: once decord (imported by other tests) has
    # loaded its own FFmpeg libraries, PyAV's libvpx encoder fails to open.
    script = f"""
import av
import numpy as np
with av.open({str(path)!r}, 'w') as container:
    stream = container.add_stream('libvpx', rate=12)
    stream.width, stream.height = {width}, {height}
    stream.pix_fmt = 'yuv420p'
    for i in range({num_frames}):
        frame = av.VideoFrame.from_ndarray(
            np.full(({height}, {width}, 3), 15 * i, np.uint8), format='rgb24')
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
"""
    subprocess.run([sys.executable, '-c', script], check=True)


def test_convert_webm(tmp_path, capsys):
    av = pytest.importorskip('av')
    decord = pytest.importorskip('decord')
    try:
        av.codec.Codec('libvpx', 'w')
    except Exception:
        pytest.skip('this PyAV build has no VP8 (libvpx) encoder')
    split_dir = tmp_path / 'splits'
    split_dir.mkdir()
    # Video 11 is odd-sized (like SSv2's 427x240), 12 an existing mp4's
    # stand-in that fails to decode, 13 absent.
    (split_dir / 'train_few_shot.txt').write_text('train0/10\ntrain1/11\n'
                                                  'train1/12\n')
    (split_dir / 'val_few_shot.txt').write_text('val0/13\n')
    (split_dir / 'test_few_shot.txt').write_text('test0/10\n')
    ann_dir = tmp_path / 'json'
    ann_dir.mkdir()
    (ann_dir / 'something-something-v2-train.json').write_text(
        json.dumps([
            dict(id=vid, template=template)
            for vid, template in (('10', 'Moving [something] up'),
                                  ('11', 'Moving [something] down'),
                                  ('12', 'Moving [something] down'),
                                  ('13', 'Holding [something]'))
        ]))
    (ann_dir / 'something-something-v2-validation.json').write_text('[]')
    webm_root = tmp_path / 'webm'
    webm_root.mkdir()
    _write_webm(webm_root / '10.webm', 64, 48, 9)
    _write_webm(webm_root / '11.webm', 71, 40, 14)
    (webm_root / '12.webm').write_bytes(b'not a video')
    mp4_root = tmp_path / 'mp4'

    reports = tool.build_annotations(
        'ssv2_small',
        split_dir,
        webm_root,
        tmp_path / 'out',
        ssv2_annotations=ann_dir,
        convert_webm=True,
        mp4_root=mp4_root,
        workers=2)
    printed = capsys.readouterr().out

    for vid, num_frames in (('10', 9), ('11', 14)):
        reader = decord.VideoReader(str(mp4_root / f'{vid}.mp4'))
        assert len(reader) == num_frames
        frames = reader.get_batch(list(range(num_frames))).asnumpy()
        # Frames keep their order (brightness 15 * i).
        assert abs(frames[-1].mean() - 15 * (num_frames - 1)) < 8
        assert abs(frames[0].mean()) < 8
    assert sorted(os.listdir(mp4_root)) == ['10.mp4', '11.mp4']
    assert _read_ann(tmp_path / 'out' / 'train.txt') == [('10.mp4', 0),
                                                         ('11.mp4', 1)]
    assert reports['train'].failed_conversions == 1
    assert reports['train'].missing == ['12']
    assert (tmp_path / 'out' / 'train_missing.txt').read_text() == '12\n'
    assert '1 conversions failed' in printed
    assert 'converted 3/3, 1 failed' in printed
    assert reports['val'].missing == ['13']
    assert reports['val'].empty_classes == [0]
    assert (tmp_path / 'out' / 'train_classes.txt').read_text() == \
        'Moving something up\nMoving something down\n'
    # Test lists 10 again: already converted, so nothing to do.
    assert reports['test'].found == 1
    assert printed.count('converting') == 1


def _bad_split_dir(tmp_path, train_text, dataset='hmdb51'):
    split_dir = tmp_path / 'splits'
    split_dir.mkdir()
    for split in SPLITS:
        (split_dir / f'{split}_few_shot.txt').write_text(
            (SPLITS_DIR / dataset / f'{split}_few_shot.txt').read_text())
    (split_dir / 'train_few_shot.txt').write_text(train_text)
    return split_dir


@pytest.mark.parametrize('train_text, message', [
    ('train0//videos/a/x.avi\ntrain0 videos/a/y.avi\n',
     r'malformed split line at .*train_few_shot\.txt, line 2'),
    ('train0//videos/a/x.avi\n\ntrain0/videos/a/y.avi\n',
     r'malformed split line at .*train_few_shot\.txt, line 3'),
    ('train0//videos/a/x.avi\nfoo1//videos/b/y.avi\n',
     r"unknown split prefix 'foo' at .*train_few_shot\.txt, line 2"),
    ('train0//videos/a/x.avi\ntest1//videos/b/y.avi\n',
     r"split prefix 'test' at .*train_few_shot\.txt, line 2"),
    ('train0//videos/a/x.avi\ntrain2//videos/c/y.avi\n',
     r'class ids in .*train_few_shot\.txt are not contiguous from 0.*'
     r'missing \[1\]'),
    ('train0//videos/a/x.avi\ntrain0//videos/b/y.avi\n',
     r"train_few_shot\.txt, line 2: class 0 is in folder 'b' here but "
     r"in 'a' at line 1"),
])
def test_bad_split_files(tmp_path, train_text, message):
    split_dir = _bad_split_dir(tmp_path, train_text)
    with pytest.raises(tool.AnnotationError, match=message):
        tool.build_annotations('hmdb51', split_dir, tmp_path, tmp_path / 'o')
    assert not (tmp_path / 'o' / 'train.txt').exists()


def test_missing_split_file(tmp_path):
    split_dir = _bad_split_dir(tmp_path, 'train0//videos/a/x.avi\n')
    (split_dir / 'val_few_shot.txt').unlink()
    with pytest.raises(
            tool.AnnotationError,
            match=r'split file .*val_few_shot\.txt does not exist'):
        tool.build_annotations('hmdb51', split_dir, tmp_path, tmp_path / 'o')


def test_ssv2_mixed_templates(tmp_path):
    split_dir = _bad_split_dir(tmp_path, 'train0/1\ntrain0/2\n', 'ssv2_small')
    ann_dir = tmp_path / 'json'
    ann_dir.mkdir()
    (ann_dir / 'something-something-v2-train.json').write_text(
        json.dumps([
            dict(id='1', template='Opening [something]'),
            dict(id='2', template='Closing [something]')
        ]))
    (ann_dir / 'something-something-v2-validation.json').write_text('[]')
    with pytest.raises(
            tool.AnnotationError,
            match=r'class 0 mixes templates: video 1 \(line 1\) '
            r".*'Opening \[something\]' but video 2 \(line 2\)"):
        tool.build_annotations(
            'ssv2_small',
            split_dir,
            tmp_path,
            tmp_path / 'o',
            ssv2_annotations=ann_dir)


def test_cli_error_names_file_and_line(tmp_path):
    split_dir = _bad_split_dir(tmp_path, 'train0//videos/a/x.avi\ntrain0//\n')
    cmd = [
        sys.executable,
        str(TOOL), '--dataset', 'hmdb51', '--split-dir',
        str(split_dir), '--video-root',
        str(tmp_path), '--out-dir',
        str(tmp_path / 'o')
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert re.search(
        r'error: malformed split line at .*train_few_shot\.txt, '
        r'line 2', proc.stderr)
