# Copyright (c) mmfsar contributors. All rights reserved.
"""``mmfsar.apis``: a checkpoint trained for a few iterations on generated
videos gives the same predictions through the API as through the test loop
on the same episodes."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.runner import Runner

from mmfsar.apis import (get_test_pipeline_cfg, inference_fsar,
                         init_fsar_model, support_from_folder)
from mmfsar.datasets.episodic_dataset import VideoLoadError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SMOKE = osp.join(REPO, 'configs', 'smoke', 'clip_fsar_tiny_smoke.py')


def options(num_shots, merge_before):
    return {
        'test_dataloader.dataset.num_shots': num_shots,
        'model.head.merge_before': merge_before
    }


def run_test_loop(root, checkpoint, name, num_episodes=3, **extra):
    cwd = os.getcwd()
    os.chdir(root)
    try:
        cfg = Config.fromfile(SMOKE)
        cfg.work_dir = str(root / name)
        cfg.load_from = checkpoint
        cfg.test_dataloader.dataset.num_episodes = num_episodes
        cfg.test_evaluator.out_file = str(root / f'{name}.jsonl')
        cfg.merge_from_dict(extra)
        metrics = Runner.from_cfg(cfg).test()
    finally:
        os.chdir(cwd)
    with open(root / f'{name}.jsonl') as f:
        return metrics, [json.loads(line) for line in f]


def episode_inputs(root, record):
    """The support dict and queries of a dumped episode."""
    prefix = root / 'data' / 'smoke'
    support = {name: [] for name in record['class_names']}
    shots = len(record['support_paths']) // len(support)
    for i, path in enumerate(record['support_paths']):
        support[record['class_names'][i // shots]].append(str(prefix / path))
    return support, [str(prefix / p) for p in record['query_paths']]


@pytest.mark.parametrize('num_shots', [1, 5])
@pytest.mark.parametrize('merge_before', [False, True])
def test_api_equals_test_loop(fsar_run, num_shots, merge_before):
    root, checkpoint = fsar_run
    name = f'loop_{num_shots}_{merge_before}'
    _, records = run_test_loop(root, checkpoint, name,
                               **options(num_shots, merge_before))
    model = init_fsar_model(
        SMOKE, checkpoint, cfg_options=options(num_shots, merge_before))
    for record in records:
        assert len(record['support_paths']) == 3 * num_shots
        support, queries = episode_inputs(root, record)
        results = inference_fsar(model, support, queries)
        assert [r.pred_label for r in results] == record['preds']
        np.testing.assert_allclose([r.scores for r in results],
                                   record['scores'],
                                   atol=1e-5)
        for r in results:
            # OTAM distances: the logits without their sign.
            assert r.pred_class == record['class_names'][r.pred_label]
            assert int(np.argmin(r.distances)) == r.pred_label
            np.testing.assert_allclose(
                torch.as_tensor(-r.distances).softmax(0), r.scores, atol=1e-5)
            assert r.alignment.kind == 'prototype'
            assert r.alignment.frame_similarity.shape == (4, 4)
            # The shown clip is the predicted class's first support video.
            assert r.alignment.support == support[r.pred_class][0]


def test_unequal_shots_equal_end_to_end_predict(fsar_run):
    """Unequal shots (no test-loop episode has them): the API against the
    recognizer's end-to-end ``predict`` on a hand-built episode."""
    root, checkpoint = fsar_run
    videos = root / 'data' / 'smoke' / 'videos' / 'test'
    names = ['spinning top', 'falling leaf', 'rolling ball']
    support = {
        name: [str(videos / f'class_{c}' / f'{i}.mp4') for i in range(shots)]
        for c, (name, shots) in enumerate(zip(names, [2, 3, 4]))
    }
    queries = [str(videos / f'class_{c}' / '6.mp4') for c in (2, 0, 1)]
    for merge_before in (False, True):
        model = init_fsar_model(
            SMOKE, checkpoint, cfg_options=options(5, merge_before))
        results = inference_fsar(model, support, queries)
        pipeline = Compose(get_test_pipeline_cfg(model.cfg))
        inputs, samples = [], []
        files = [(f, label, False) for label, name in enumerate(names)
                 for f in support[name]] + [(f, 0, True) for f in queries]
        for path, label, is_query in files:
            packed = pipeline(
                dict(filename=path, label=-1, start_index=0, modality='RGB'))
            packed['data_samples'].set_gt_label(label)
            packed['data_samples'].set_metainfo(
                dict(
                    episode_idx=0,
                    is_query=is_query,
                    class_id=label,
                    num_ways=3))
            inputs.append(packed['inputs'])
            samples.append(packed['data_samples'])
        model.set_class_names(names, 'eval')
        with torch.no_grad():
            outputs = model.test_step(
                dict(inputs=inputs, data_samples=samples))
        expected = torch.stack([o.pred_score for o in outputs]).numpy()
        np.testing.assert_allclose([r.scores for r in results],
                                   expected,
                                   atol=1e-5)
        assert [r.pred_label for r in results] == list(expected.argmax(1))


def test_text_only_equals_test_loop_and_both_loop_paths(fsar_run):
    root, checkpoint = fsar_run
    cached, records = run_test_loop(
        root,
        checkpoint,
        'text_cached',
        num_episodes=4,
        **{'test_cfg.text_baseline': True})
    full, full_records = run_test_loop(
        root,
        checkpoint,
        'text_full',
        num_episodes=4,
        **{
            'test_cfg.text_baseline': True,
            'test_cfg.cache_features': False
        })
    for key in ('accuracy', 'text_accuracy', 'text_ci95'):
        assert cached[f'fewshot/{key}'] == full[f'fewshot/{key}']
    accs = [
        100 * np.mean(np.equal(r['labels'], r['text_preds'])) for r in records
    ]
    assert cached['fewshot/text_accuracy'] == pytest.approx(np.mean(accs))
    for a, b in zip(records, full_records):
        for key in ('support_paths', 'query_paths', 'class_names', 'preds',
                    'text_preds'):
            assert a[key] == b[key], key
        np.testing.assert_allclose(
            a['text_scores'], b['text_scores'], atol=1e-6)
        np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-5)
    model = init_fsar_model(SMOKE, checkpoint)
    for record in records:
        support, queries = episode_inputs(root, record)
        results = inference_fsar(model, support, queries, text_only=True)
        assert [r.pred_label for r in results] == record['text_preds']
        np.testing.assert_allclose([r.scores for r in results],
                                   record['text_scores'],
                                   atol=1e-5)
        assert all(r.text_only and r.alignment is None for r in results)


def test_each_video_is_decoded_once(fsar_run, monkeypatch):
    root, checkpoint = fsar_run
    videos = root / 'data' / 'smoke' / 'videos' / 'test'
    support = {
        f'class {c}':
        [str(videos / f'class_{c}' / f'{i}.mp4') for i in range(2)]
        for c in range(3)
    }
    query = str(videos / 'class_1' / '5.mp4')
    queries = [query, str(videos / 'class_2' / '5.mp4'), query]
    model = init_fsar_model(SMOKE, checkpoint)
    opened = []
    from mmfsar.apis import inference
    load = inference._load
    monkeypatch.setattr(
        inference, '_load',
        lambda p, path, what: opened.append(path) or load(p, path, what))
    results = inference_fsar(model, support, queries, batch_size=4)
    assert sorted(opened) == sorted(
        [f for clips in support.values() for f in clips] + queries[:2])
    assert [r.query for r in results] == queries
    np.testing.assert_array_equal(results[0].scores, results[2].scores)


def test_otam_head_alignment_uses_the_nearest_clip(fsar_run):
    """A plain OTAMHead model (no text): distances are the mean OTAM
    distance to a class's clips; the alignment is that of the nearest
    clip of the predicted class."""
    root, _ = fsar_run
    cfg = Config.fromfile(SMOKE)
    cfg.model = dict(
        type='FewShotRecognizer',
        backbone=cfg.model.backbone,
        head=dict(type='OTAMHead', lbda=0.1),
        data_preprocessor=cfg.model.data_preprocessor)
    model = init_fsar_model(cfg)
    videos = root / 'data' / 'smoke' / 'videos' / 'test'
    support = {
        f'class {c}':
        [str(videos / f'class_{c}' / f'{i}.mp4') for i in range(3)]
        for c in range(3)
    }
    queries = [str(videos / f'class_{c}' / '6.mp4') for c in range(3)]
    results = inference_fsar(model, support, queries, return_frames=True)
    pipeline = Compose(get_test_pipeline_cfg(cfg))
    feats = {}
    with torch.no_grad():
        for path in queries + sum(support.values(), []):
            x = pipeline(dict(filename=path, label=-1, start_index=0))
            data = model.data_preprocessor(
                dict(inputs=[x['inputs']], data_samples=None), False)
            feats[path] = model.extract_feat(data['inputs'])[0]
    for r in results:
        per_clip = {
            clip:
            float(
                model.head.video_distances(feats[clip][None, None],
                                           feats[r.query][None, None]))
            for clips in support.values()
            for clip in clips
        }
        mean = [np.mean([per_clip[c] for c in support[n]]) for n in support]
        np.testing.assert_allclose(r.distances, mean, rtol=1e-4)
        nearest = min(support[r.pred_class], key=per_clip.get)
        assert r.alignment.kind == 'clip'
        assert r.alignment.support == nearest
        assert r.frames.shape == (4, 32, 32, 3)
        assert r.alignment.support_frames.shape == (4, 32, 32, 3)
    with pytest.raises(ValueError, match='has no text tower'):
        inference_fsar(model, support, queries, text_only=True)


# ------------------------------------------------------------- bad input
@pytest.fixture
def clips(fsar_run):
    root, checkpoint = fsar_run
    return root / 'data' / 'smoke' / 'videos' / 'test', checkpoint


def make_tree(tmp_path, layout, source):
    for folder, count in layout.items():
        os.makedirs(tmp_path / folder, exist_ok=True)
        for i in range(count):
            shutil.copy(source / f'{i}.mp4', tmp_path / folder / f'{i}.mp4')
    return str(tmp_path)


def test_support_from_folder(tmp_path, clips):
    videos, _ = clips
    root = make_tree(tmp_path, {
        'moving_left': 2,
        'moving__up': 1
    }, videos / 'class_0')
    support = support_from_folder(root)
    assert list(support) == ['moving left', 'moving up']
    assert support['moving left'] == [
        osp.join(root, 'moving_left', f'{i}.mp4') for i in range(2)
    ]


@pytest.mark.parametrize('layout, extra, message', [
    ({
        'a': 1,
        'b': 0
    }, None, r'Class folder .*b has no videos\.'),
    ({
        'a_b': 1,
        'a b': 1
    }, None, r"Class folders .*a b and .*a_b both give the class name 'a b'"),
    ({
        'a': 1
    }, None, r'has 1 class folder\(s\); few-shot classification needs at '
     'least two'),
    ({
        'a': 1,
        'b': 1
    }, 'b/notes.txt', r'.*b/notes\.txt is not a video file'),
    ({
        'a': 1,
        'b': 1
    }, 'stray.mp4', r'.*stray\.mp4 is a file in the support folder')
])
def test_support_folder_errors(tmp_path, clips, layout, extra, message):
    videos, _ = clips
    root = make_tree(tmp_path, layout, videos / 'class_0')
    if extra:
        open(osp.join(root, extra), 'w').close()
    with pytest.raises(ValueError, match=message):
        support_from_folder(root)


def test_inference_errors(tmp_path, clips):
    videos, checkpoint = clips
    a = [str(videos / 'class_0' / f'{i}.mp4') for i in range(2)]
    b = [str(videos / 'class_1' / f'{i}.mp4') for i in range(2)]
    query = str(videos / 'class_2' / '0.mp4')
    model = init_fsar_model(SMOKE, checkpoint)
    with pytest.raises(ValueError, match=r"1 class\(es\) \(\['a'\]\)"):
        inference_fsar(model, {'a': a}, [query])
    with pytest.raises(
            ValueError,
            match=r"Query .*class_0/1\.mp4 is also a "
            r"support video of class 'a' \(the same file\)"):
        inference_fsar(model, {'a': a, 'b': b}, [a[1]])
    with pytest.raises(
            ValueError,
            match=r"class_0/0\.mp4 is given twice "
            r"\(for class 'a' and class 'b'\)"):
        inference_fsar(model, {'a': a, 'b': a[:1]}, [query])
    with pytest.raises(ValueError, match="Class 'b' has no support videos"):
        inference_fsar(model, {'a': a, 'b': []}, [query])
    with pytest.raises(
            FileNotFoundError, match=r'Query video not found: .*missing\.mp4'):
        inference_fsar(model, {
            'a': a,
            'b': b
        }, [str(tmp_path / 'missing.mp4')])
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'not a video at all')
    with pytest.raises(
            VideoLoadError, match=r'Cannot read query video .*broken\.mp4'):
        inference_fsar(model, {'a': a, 'b': b}, [str(broken)])
    merging = init_fsar_model(SMOKE, checkpoint, cfg_options=options(5, True))
    with pytest.raises(
            ValueError,
            match="Class 'b' has a single support "
            r'video, .*merge_before=True.*5 shots'):
        inference_fsar(merging, {'a': a, 'b': b[:1]}, [query])
    # The 1-shot configuration of the same model takes single videos.
    one_shot = init_fsar_model(SMOKE, checkpoint, cfg_options=options(1, True))
    assert len(inference_fsar(one_shot, {
        'a': a[:1],
        'b': b[:1]
    }, [query])) == 1
