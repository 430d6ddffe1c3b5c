"""Tests for tools/data/build_fsar_annotations.py on the real split files."""
import importlib.util
import json
import os
import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / 'tools' / 'data'
TOOL = TOOLS / 'build_fsar_annotations.py'
LINK_TOOL = TOOLS / 'link_kinetics100.py'
SPLITS_DIR = Path(
    os.environ.get('MMFSAR_SPLITS_DIR',
                   REPO_ROOT.parent / 'shared' / 'splits'))

pytestmark = pytest.mark.skipif(
    not SPLITS_DIR.is_dir(),
    reason=f'few-shot split files not found at {SPLITS_DIR} (set '
    'MMFSAR_SPLITS_DIR to the folder of <dataset>/*_few_shot.txt)')

# (classes, videos) per split of the released split files.
EXPECTED = {
    'ssv2_full': dict(train=(64, 67013), val=(12, 1926), test=(24, 2857)),
    'ssv2_small': dict(train=(64, 6400), val=(12, 1200), test=(24, 2400)),
    'kinetics100': dict(train=(64, 6400), val=(12, 1200), test=(24, 2400)),
    'ucf101': dict(train=(70, 9154), val=(10, 1421), test=(21, 2745)),
    'hmdb51': dict(train=(31, 4280), val=(10, 1194), test=(10, 1292)),
}
SPLITS = ('train', 'val', 'test')


def _load_tool(name='build_fsar_annotations'):
    """Import a tool as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, TOOLS / f'{name}.py')
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


def _touch(root, paths):
    """Create an empty file at each relative path under ``root``."""
    for folder in {os.path.dirname(p) for p in paths}:
        os.makedirs(root / folder, exist_ok=True)
    for p in paths:
        os.close(os.open(root / p, os.O_CREAT | os.O_WRONLY, 0o644))


def _ssv2_path(vid):
    """Where the SSv2 video archive extracts video ``vid``."""
    return f'20bn-something-something-v2/{vid}.webm'


def _make_placeholders(dataset, root):
    """Create an empty file for every listed video under ``root``: SSv2
    ``.webm`` files as extracted, the others at their split-file path."""
    for split in SPLITS:
        paths = [p for _, p in _split_lines(dataset, split)]
        if dataset.startswith('ssv2'):
            paths = [_ssv2_path(p) for p in paths]
        _touch(root, paths)


def _val_template(i):
    return f'Doing val class {i} with [something]'


def _write_ssv2_annotations(dataset, ann_dir, prefix=''):
    """SSv2 label files as the label archive unpacks them today
    (``labels/{train,validation}.json``, or with ``prefix`` as older copies
    named them): one template per class id of each split, the released name
    (itself a template) for train/test."""
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
        with open(ann_dir / f'{prefix}{key}.json', 'w') as f:
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
                ann = _write_ssv2_annotations(dataset, base / 'labels')
            out = base / 'annotations'
            reports = tool.build_annotations(
                dataset, SPLITS_DIR / dataset, root, out, ssv2_annotations=ann)
            cache[dataset] = dict(
                root=root, ann=ann, out=out, reports=reports, base=base)
        return cache[dataset]

    return get


@pytest.mark.parametrize('dataset', list(EXPECTED))
def test_counts_match_released(prepared, dataset):
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
        expected = [(_ssv2_path(p) if dataset.startswith('ssv2') else p, c)
                    for c, p in _split_lines(dataset, split)]
        assert ann == expected
        for path, _ in ann[:50]:
            assert (result['root'] / path).is_file()


@pytest.mark.parametrize('dataset', ['hmdb51', 'ucf101', 'kinetics100'])
def test_readable_names_match_released_names(prepared, dataset):
    """Class i's folder is the released name i up to case, '_' and
    spaces."""
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


def _released_yaml(dataset, train=None, test=None):
    """A few lines of a released YAML config: the real class-name lists of
    ``dataset`` (or the given ones) as TRAIN/TEST.CLASS_NAME."""
    lists = {}
    for split, names in (('train', train), ('test', test)):
        if names is None:
            names = (SPLITS_DIR / dataset /
                     f'classnames_{split}.txt').read_text().splitlines()
        lists[split] = json.dumps(names)  # A YAML flow sequence.
    return (f'_BASE: ../OTAM_base.yaml\nTRAIN:\n  SHOT: 1\n'
            f'  CLASS_NAME: {lists["train"]}\nTEST:\n'
            f'  CLASS_NAME: {lists["test"]}\n')


def _split_dir_copy(tmp_path, dataset, yamls=None):
    """The real split files of ``dataset`` in a new folder, with the given
    ``{file name: text}`` YAML configs."""
    split_dir = tmp_path / 'splits'
    split_dir.mkdir()
    for split in SPLITS:
        name = f'{split}_few_shot.txt'
        (split_dir / name).write_text(
            (SPLITS_DIR / dataset / name).read_text())
    for name, text in (yamls or {}).items():
        (split_dir / name).write_text(text)
    return split_dir


def test_released_class_names(prepared, tmp_path, capsys):
    base = prepared('ucf101')
    split_dir = _split_dir_copy(
        tmp_path, 'ucf101', {
            'CLIPFSAR_UCF101_1shot_v1.yaml': _released_yaml('ucf101'),
            'CLIPFSAR_UCF101_5shot_v1.yaml': _released_yaml('ucf101'),
            'unrelated.yaml': 'DATA:\n  NUM_INPUT_FRAMES: 8\n',
        })
    out = tmp_path / 'released'
    tool.build_annotations(
        'ucf101', split_dir, base['root'], out, class_names='released')
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


@pytest.mark.parametrize('yamls, message', [
    ({}, r'reads TEST\.CLASS_NAME from the YAML configs in .*splits, but '
     r'there is no \*\.yaml there'),
    ({
        'a.yaml': 'TRAIN:\n  CLASS_NAME: [x]\n'
    }, r'TEST\.CLASS_NAME .* but none of a\.yaml holds it'),
    ({
        'a.yaml': 'TEST:\n  CLASS_NAME: [fencing, kick]\n'
    }, r'TEST\.CLASS_NAME in .*a\.yaml has 2 class names but the test split '
     r'file has 10 class ids'),
    ({
        'a.yaml':
        partial(_released_yaml, 'hmdb51'),
        'b.yaml':
        partial(
            _released_yaml,
            'hmdb51',
            test=['fencing', 'kick', 'kick ball', 'pickup'])
    }, r'.*a\.yaml and .*b\.yaml disagree on TEST\.CLASS_NAME: 10 and 4 '
     r"names, class 3 is 'pick' in the first and 'pickup' in the second"),
    ({
        'a.yaml': 'TEST:\n  CLASS_NAME: [a, b\n'
    }, r'cannot read YAML config .*a\.yaml'),
    ({
        'a.yaml': partial(_released_yaml, 'hmdb51', test=['fencing'] * 10)
    }, r"classes 0 and 1 of .*a\.yaml \(TEST\.CLASS_NAME\) are both named "
     r"'fencing'"),
])
def test_released_names_errors_name_the_file(prepared, tmp_path, yamls,
                                             message):
    # YAML texts made from the split files are built here, not at
    # collection, so that the module collects without the split files.
    yamls = {k: v() if callable(v) else v for k, v in yamls.items()}
    split_dir = _split_dir_copy(tmp_path, 'hmdb51', yamls)
    with pytest.raises(tool.AnnotationError, match=message):
        tool.build_annotations(
            'hmdb51',
            split_dir,
            prepared('hmdb51')['root'],
            tmp_path / 'out',
            class_names='released',
            splits=['test'])


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
    val = _split_lines('ssv2_small', 'val')
    missing_id, mp4_id = val[7][1], val[8][1]
    root = tmp_path / 'ssv2'
    webm_dir = root / '20bn-something-something-v2'
    webm_dir.mkdir(parents=True)
    for p in (base['root'] / '20bn-something-something-v2').iterdir():
        if p.name not in (f'{missing_id}.webm', f'{mp4_id}.webm'):
            os.symlink(p, webm_dir / p.name)
    (root / f'{mp4_id}.mp4').touch()  # An mp4 from an earlier conversion.
    split_dir = _split_dir_copy(
        tmp_path, 'ssv2_small',
        {'CLIPFSAR_SSv2_Small_1shot_v1.yaml': _released_yaml('ssv2_small')})
    out = tmp_path / 'annotations'
    cmd = [
        sys.executable,
        str(TOOL), '--dataset', 'ssv2_small', '--split-dir',
        str(split_dir), '--video-root',
        str(root), '--out-dir',
        str(out), '--ssv2-annotations',
        str(base['ann']), '--class-names', 'released'
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'ssv2_small val: 12 classes, 1200 videos listed, 1199 found, ' \
        '1 missing' in proc.stdout
    assert '1198 videos are read as .webm' in proc.stdout
    assert (out / 'val_missing.txt').read_text() == f'{missing_id}\n'
    assert (f'{mp4_id}.mp4', val[8][0]) in _read_ann(out / 'val.txt')
    assert (out / 'test_classes.txt').read_text() == (
        SPLITS_DIR / 'ssv2_small' / 'classnames_test.txt').read_text()
    assert _read_ann(
        out / 'train.txt')[0] == ('20bn-something-something-v2/51958.webm', 0)

    # Without the label files, val has no names: exit status 1, saying
    # what to pass.
    no_labels = cmd[:cmd.index('--ssv2-annotations')] + cmd[-2:]
    proc = subprocess.run(
        no_labels, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert 'error: SSv2 val class names come from the SSv2 label files' \
        in proc.stderr
    proc = subprocess.run(
        no_labels + ['--splits', 'train', 'test'],
        capture_output=True,
        text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'ssv2_small test: 24 classes, 2400 videos listed, 2400 found' \
        in proc.stdout


def test_duplicate_videos(tmp_path, capsys):
    text = ('train0//videos/a/x.avi\ntrain0//videos/a/y.avi\n'
            'train1//videos/b/z.avi\ntrain0//videos/a/x.avi\n')
    split_dir = _bad_split_dir(tmp_path, text)
    root = tmp_path / 'hmdb'
    _touch(root, ['videos/a/x.avi', 'videos/a/y.avi', 'videos/b/z.avi'])
    with pytest.raises(
            tool.AnnotationError,
            match=r"train_few_shot\.txt lists 1 videos more than once: "
            r"'videos/a/x\.avi' at lines 1 and 4\. Pass --dedup"):
        tool.build_annotations('hmdb51', split_dir, root, tmp_path / 'o')
    reports = tool.build_annotations(
        'hmdb51',
        split_dir,
        root,
        tmp_path / 'o',
        dedup=True,
        splits=['train'])
    assert 'dropped 1 repeated lines' in capsys.readouterr().out
    assert reports['train'].duplicates_removed == 1
    assert reports['train'].listed == 4 and reports['train'].found == 3
    assert _read_ann(tmp_path / 'o' / 'train.txt') == [('videos/a/x.avi', 0),
                                                       ('videos/a/y.avi', 0),
                                                       ('videos/b/z.avi', 1)]
    # One video under two class ids: no way to choose, even with dedup.
    split_dir = _bad_split_dir(
        tmp_path / 'two', 'train0//videos/a/x.avi\ntrain1//videos/a/x.avi\n')
    with pytest.raises(
            tool.AnnotationError,
            match=r"video 'videos/a/x\.avi' is listed as class 0 at line 1 "
            r'and as class 1 at line 2'):
        tool.build_annotations(
            'hmdb51', split_dir, root, tmp_path / 'o', dedup=True)


def test_duplicate_readable_class_names(tmp_path):
    split_dir = _bad_split_dir(
        tmp_path, 'train0//videos/Yo_Yo/x.avi\ntrain1//videos/YoYo/y.avi\n')
    with pytest.raises(
            tool.AnnotationError,
            match=r"classes 0 and 1 of the train split .* are both named "
            r"'yo yo'"):
        tool.build_annotations('hmdb51', split_dir, tmp_path, tmp_path / 'o')


@pytest.mark.parametrize('layout', ['labels', 'older'])
def test_ssv2_label_layouts(prepared, tmp_path, layout):
    """Both label-file layouts give the same annotations."""
    base = prepared('ssv2_small')
    prefix = '' if layout == 'labels' else 'something-something-v2-'
    ann = _write_ssv2_annotations('ssv2_small', tmp_path / 'labels', prefix)
    if layout == 'labels':  # The archive also holds these; unused.
        (ann / 'labels.json').write_text('{"Holding something": "0"}')
        (ann / 'test.json').write_text('[]')
    tool.build_annotations(
        'ssv2_small',
        SPLITS_DIR / 'ssv2_small',
        base['root'],
        tmp_path / 'out',
        ssv2_annotations=ann)
    for name in ('train.txt', 'val_classes.txt', 'test_classes.txt'):
        assert (tmp_path / 'out' / name).read_text() == \
            (base['out'] / name).read_text()


def test_ssv2_label_files_absent(tmp_path):
    split_dir = _bad_split_dir(tmp_path, 'train0/1\n', 'ssv2_small')
    (tmp_path / 'labels').mkdir()
    (tmp_path / 'labels' / 'train.json').write_text('[]')
    with pytest.raises(
            tool.AnnotationError,
            match=r'labels does not hold the SSv2 label files: expected '
            r'train\.json and validation\.json or '
            r'something-something-v2-train\.json and '
            r'something-something-v2-validation\.json'):
        tool.build_annotations(
            'ssv2_small',
            split_dir,
            tmp_path,
            tmp_path / 'o',
            ssv2_annotations=tmp_path / 'labels')
    with pytest.raises(
            tool.AnnotationError,
            match=r'SSv2 train class names come from the SSv2 label files: '
            r'pass --ssv2-annotations'):
        tool.build_annotations('ssv2_small', split_dir, tmp_path,
                               tmp_path / 'o')


def test_ssv2_released_names_without_label_files(prepared, tmp_path):
    split_dir = _split_dir_copy(
        tmp_path, 'ssv2_full',
        {'CLIPFSAR_SSv2_Full_1shot_v1.yaml': _released_yaml('ssv2_full')})
    root = prepared('ssv2_full')['root']
    out = tmp_path / 'out'
    reports = tool.build_annotations(
        'ssv2_full',
        split_dir,
        root,
        out,
        class_names='released',
        splits=['train', 'test'])
    assert sorted(reports) == ['test', 'train']
    for split in ('train', 'test'):
        assert (out / f'{split}_classes.txt').read_text() == (
            SPLITS_DIR / 'ssv2_full' / f'classnames_{split}.txt').read_text()
        assert reports[split].found == EXPECTED['ssv2_full'][split][1]
    assert not (out / 'val.txt').exists()
    # Val has no released list; its names need the label files.
    with pytest.raises(
            tool.AnnotationError,
            match=r'SSv2 val class names come from the SSv2 label files: .*'
            r'--splits train test'):
        tool.build_annotations(
            'ssv2_full', split_dir, root, out, class_names='released')


def _write_video(path, codec, width, height, num_frames, rate=12):
    """Encode a video whose frame i has brightness 15 * i.

    In a fresh interpreter: once decord (imported by other tests) has
    loaded its own FFmpeg libraries, PyAV's libvpx encoder fails to open.
    """
    script = f"""
import av
import numpy as np
with av.open({str(path)!r}, 'w') as container:
    stream = container.add_stream({codec!r}, rate={rate})
    stream.width, stream.height = {width}, {height}
    stream.pix_fmt = 'yuv420p'
    for i in range({num_frames}):
        frame = av.VideoFrame.from_ndarray(
            np.full(({height}, {width}, 3), 15 * i, np.uint8), format='rgb24')
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
"""
    subprocess.run([sys.executable, '-c', script], check=True)


def _skip_without_encoder(codec):
    av = pytest.importorskip('av')
    try:
        av.codec.Codec(codec, 'w')
    except Exception:
        pytest.skip(f'this PyAV build has no {codec} encoder')


def _ssv2_video_split(tmp_path):
    """A three-video SSv2 split: 10 even-sized, 11 odd-sized (like SSv2's
    427x240), 12 not a video; 13 absent."""
    split_dir = tmp_path / 'splits'
    split_dir.mkdir()
    (split_dir / 'train_few_shot.txt').write_text('train0/10\ntrain1/11\n'
                                                  'train1/12\n')
    (split_dir / 'val_few_shot.txt').write_text('val0/13\n')
    (split_dir / 'test_few_shot.txt').write_text('test0/10\n')
    ann_dir = tmp_path / 'labels'
    ann_dir.mkdir()
    (ann_dir / 'train.json').write_text(
        json.dumps([
            dict(id=vid, template=template)
            for vid, template in (('10', 'Moving [something] up'),
                                  ('11', 'Moving [something] down'),
                                  ('12', 'Moving [something] down'),
                                  ('13', 'Holding [something]'))
        ]))
    (ann_dir / 'validation.json').write_text('[]')
    root = tmp_path / 'ssv2'
    webm_dir = root / '20bn-something-something-v2'
    webm_dir.mkdir(parents=True)
    _write_video(webm_dir / '10.webm', 'libvpx-vp9', 64, 48, 9)
    _write_video(webm_dir / '11.webm', 'libvpx-vp9', 71, 40, 14)
    (webm_dir / '12.webm').write_bytes(b'not a video')
    return split_dir, ann_dir, root


def _assert_frames(path, num_frames):
    decord = pytest.importorskip('decord')
    reader = decord.VideoReader(str(path))
    assert len(reader) == num_frames
    frames = reader.get_batch(list(range(num_frames))).asnumpy()
    # Frames keep their order (brightness 15 * i).
    for i in (0, num_frames // 2, num_frames - 1):
        assert abs(frames[i].mean() - 15 * i) < 8


def test_ssv2_webm_read_directly(tmp_path):
    """By default the annotations list the VP9 .webm files, which decord
    decodes frame-exactly."""
    _skip_without_encoder('libvpx-vp9')
    split_dir, ann_dir, root = _ssv2_video_split(tmp_path)
    reports = tool.build_annotations(
        'ssv2_small',
        split_dir,
        root,
        tmp_path / 'out',
        ssv2_annotations=ann_dir)
    ann = _read_ann(tmp_path / 'out' / 'train.txt')
    assert ann == [('20bn-something-something-v2/10.webm', 0),
                   ('20bn-something-something-v2/11.webm', 1),
                   ('20bn-something-something-v2/12.webm', 1)]
    assert reports['val'].missing == ['13']
    _assert_frames(root / ann[0][0], 9)
    _assert_frames(root / ann[1][0], 14)
    assert not list(root.glob('*.mp4'))


def test_convert_webm(tmp_path, capsys):
    _skip_without_encoder('libvpx-vp9')
    split_dir, ann_dir, root = _ssv2_video_split(tmp_path)
    reports = tool.build_annotations(
        'ssv2_small',
        split_dir,
        root,
        tmp_path / 'out',
        ssv2_annotations=ann_dir,
        convert_webm=True,
        workers=2)
    printed = capsys.readouterr().out

    _assert_frames(root / '10.mp4', 9)
    _assert_frames(root / '11.mp4', 14)
    assert sorted(p.name for p in root.glob('*.mp4')) == ['10.mp4', '11.mp4']
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


def _cvdf_name(path):
    """The CVDF file name of a Kinetics-100 split path: the split's own
    name where it has a segment, else the YouTube id with a made-up one."""
    name = os.path.basename(path)
    stem = name.rsplit('.', 1)[0]
    if re.fullmatch(r'.+_\d{6}_\d{6}', stem):
        return name
    return f'{stem}_000003_000013.mp4'


def _k100_paths():
    return [
        p for split in SPLITS for _, p in _split_lines('kinetics100', split)
    ]


def test_kinetics_split_names_without_segment():
    """The split files hold 579 clips named ``val_256/<label>/<ytid>.mp4``
    or ``.mkv``, 165 of them ``.mkv``."""
    paths = _k100_paths()
    bare = [
        p for p in paths
        if tool.clip_youtube_id(os.path.basename(p))[1] is None
    ]
    assert len(paths) == 10000
    assert len(bare) == 579
    assert sum(p.endswith('.mkv') for p in bare) == 165
    assert all(p.startswith('val_256/') for p in bare)
    assert tool.clip_youtube_id('-VtLx-mcPds_000012_000022.mp4') == \
        ('-VtLx-mcPds', ('000012', '000022'))
    assert tool.clip_youtube_id('F_rtbfn0lxk.mkv') == ('F_rtbfn0lxk', None)


@pytest.mark.parametrize('naming', ['cvdf', 'released', 'bare'])
def test_kinetics_any_clip_naming(tmp_path, naming, capsys):
    """A complete tree is complete whatever the clips are called; a partial
    one misses exactly the removed clips."""
    paths = _k100_paths()
    if naming == 'cvdf':
        files = [f'{os.path.dirname(p)}/{_cvdf_name(p)}' for p in paths]
    elif naming == 'released':  # The split files' own names, .mkv included.
        files = paths
    else:  # <ytid>.webm / <ytid>.mp4, as some downloaders write them.
        files = [
            os.path.dirname(p) + '/' +
            tool.clip_youtube_id(os.path.basename(p))[0] +
            ('.webm' if i % 2 else '.mp4') for i, p in enumerate(paths)
        ]
    root = tmp_path / 'k100'
    _touch(root, files)
    split_dir = SPLITS_DIR / 'kinetics100'
    reports = tool.build_annotations('kinetics100', split_dir, root,
                                     tmp_path / 'full')
    renamed = sum(f != p for f, p in zip(files, paths))
    assert renamed == {'cvdf': 579, 'released': 0}.get(naming, renamed)
    assert sum(r.renamed for r in reports.values()) == renamed
    for split, report in reports.items():
        assert report.found == report.listed and not report.missing
        ann = _read_ann(tmp_path / 'full' / f'{split}.txt')
        assert all((root / p).is_file() for p, _ in ann)
        assert [c for _, c in ann
                ] == [c for c, _ in _split_lines('kinetics100', split)]
    file_of = dict(zip(paths, files))

    # Remove clips of each split, .mkv and segment-less ones included.
    removed = {}
    for split in SPLITS:
        lines = [p for _, p in _split_lines('kinetics100', split)]
        bare = [
            p for p in lines
            if tool.clip_youtube_id(os.path.basename(p))[1] is None
        ]
        removed[split] = sorted({lines[0], lines[-1], bare[0], bare[-1]},
                                key=lines.index)
        for p in removed[split]:
            (root / file_of[p]).unlink()
    capsys.readouterr()
    reports = tool.build_annotations('kinetics100', split_dir, root,
                                     tmp_path / 'partial')
    printed = capsys.readouterr().out
    for split in SPLITS:
        assert reports[split].missing == removed[split]
        assert (tmp_path / 'partial' / f'{split}_missing.txt').read_text() \
            == ''.join(f'{p}\n' for p in removed[split])
        listed = reports[split].listed
        assert f'kinetics100 {split}: ' in printed
        assert f'{listed} videos listed, {listed - len(removed[split])} ' \
            f'found, {len(removed[split])} missing' in printed
    # Missing means absent from your files, nothing else.
    assert 'downloadable' not in printed and 'expected' not in printed


def test_kinetics_two_files_of_one_clip(tmp_path):
    split_dir = _bad_split_dir(
        tmp_path, 'train0//train_256/a/abcdefghijk_000001_000011.mp4\n'
        'train0//train_256/a/bbcdefghijk.mkv\n', 'kinetics100')
    root = tmp_path / 'k100'
    _touch(root, [
        'train_256/a/abcdefghijk_000001_000011.mkv',
        'train_256/a/bbcdefghijk_000001_000011.mp4',
        'train_256/a/bbcdefghijk_000005_000015.mp4'
    ])
    with pytest.raises(
            tool.AnnotationError,
            match=r"train_few_shot\.txt, line 2: 'train_256/a/bbcdefghijk"
            r"\.mkv' matches 2 files of YouTube id 'bbcdefghijk'"):
        tool.build_annotations(
            'kinetics100', split_dir, root, tmp_path / 'o', splits=['train'])
    (root / 'train_256/a/bbcdefghijk_000005_000015.mp4').unlink()
    reports = tool.build_annotations(
        'kinetics100', split_dir, root, tmp_path / 'o', splits=['train'])
    assert _read_ann(tmp_path / 'o' / 'train.txt') == [
        ('train_256/a/abcdefghijk_000001_000011.mkv', 0),
        ('train_256/a/bbcdefghijk_000001_000011.mp4', 0)
    ]
    assert reports['train'].renamed == 2


def test_link_kinetics100_from_cvdf_download(tmp_path, capsys):
    """The symlink builder on a CVDF-shaped download made from the real
    split files: flat train/ and val/ folders, a replacement clip, the
    CSVs; a few clips not downloaded."""
    link = _load_tool('link_kinetics100')
    paths = _k100_paths()
    download = tmp_path / 'k400'
    rows = {'train': [], 'val': []}
    files = []
    absent = {paths[0], paths[6405], paths[-1]}
    for i, p in enumerate(paths):
        subset = 'train' if p.startswith('train_256/') else 'val'
        name = _cvdf_name(p)
        ytid, (start, end) = tool.clip_youtube_id(name)
        label = os.path.basename(os.path.dirname(p)).replace('_', ' ')
        rows[subset].append(f'"{label}",{ytid},{int(start)},{int(end)},'
                            f'{subset},0\n')
        if p not in absent:
            files.append(f'{subset}/{name}')
    _touch(download, files)
    # A replacement for a corrupted clip wins over the original.
    replaced = _cvdf_name(paths[10])
    _touch(download,
           [f'replacement/replacement_for_corrupted_k400/{replaced}'])
    for subset, lines in rows.items():
        (download / f'{subset}.csv'
         ).write_text('label,youtube_id,time_start,time_end,split,is_cc\n' +
                      ''.join(lines))
    out = tmp_path / 'kinetics100'
    split_dir = SPLITS_DIR / 'kinetics100'

    reports = link.link_kinetics100(split_dir, download, out)
    printed = capsys.readouterr().out
    assert [reports[s].linked for s in SPLITS] == [6399, 1199, 2399]
    assert sorted(sum((reports[s].absent for s in SPLITS), [])) == \
        sorted(absent)
    assert not any(reports[s].relabelled for s in SPLITS)
    assert 'kinetics100 test: 2400 clips listed, 2399 linked, 1 absent ' \
        'from the download' in printed
    lines = (out / 'absent_from_download.txt').read_text().splitlines()
    assert lines[0] == f'train_few_shot.txt:1 {paths[0]} (listed in ' \
        'train.csv)'
    assert len(lines) == 3
    link_to = os.readlink(out / os.path.dirname(paths[10]) / replaced)
    assert 'replacement' in link_to

    # The annotation tool finds every linked clip; missing = absent.
    reports = tool.build_annotations('kinetics100', split_dir, out,
                                     tmp_path / 'ann')
    assert sorted(sum((reports[s].missing for s in SPLITS), [])) == \
        sorted(absent)
    ann = _read_ann(tmp_path / 'ann' / 'val.txt')
    assert len(ann) == 1199 and all((out / p).is_file() for p, _ in ann)

    # Rerunning after the download completes links the rest, and the
    # absent list goes.
    _touch(download, [f'train/{_cvdf_name(paths[0])}'])
    proc = subprocess.run([
        sys.executable,
        str(LINK_TOOL), '--split-dir',
        str(split_dir), '--download',
        str(download), '--out',
        str(out)
    ],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'kinetics100 train: 6400 clips listed, 6400 linked, 0 absent' \
        in proc.stdout
    assert len((out / 'absent_from_download.txt').read_text().splitlines()) \
        == 2


def _bad_split_dir(tmp_path, train_text, dataset='hmdb51'):
    split_dir = tmp_path / 'splits'
    split_dir.mkdir(parents=True)
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
    (ann_dir / 'train.json').write_text(
        json.dumps([
            dict(id='1', template='Opening [something]'),
            dict(id='2', template='Closing [something]')
        ]))
    (ann_dir / 'validation.json').write_text('[]')
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
