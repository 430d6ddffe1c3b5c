# Copyright (c) mmfsar contributors. All rights reserved.
import json
import math

import pytest
import torch
from mmaction.structures import ActionDataSample

from mmfsar.evaluation import FewShotAccuracy, check_finite_logits


def query(episode, label, class_id, pred):
    sample = ActionDataSample(
        metainfo=dict(episode_idx=episode, class_id=class_id, is_query=True))
    sample.set_gt_label(label)
    score = torch.zeros(2)
    score[pred] = 1
    sample.set_pred_score(score)
    return sample.to_dict()


def episodes():
    # Episode 0: both right; 1: one of two; 2: none. Classes 7 and 9.
    return [
        query(0, 0, 7, 0),
        query(0, 1, 9, 1),
        query(1, 0, 9, 0),
        query(1, 1, 7, 0),
        query(2, 0, 7, 1),
        query(2, 1, 9, 0)
    ]


def test_metric_against_hand_computation(tmp_path):
    metric = FewShotAccuracy(out_file=str(tmp_path / 'episodes.jsonl'))
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(10)])
    samples = episodes()
    metric.process(None, samples[:4])  # a batch of two episodes
    metric.process(None, samples[4:])
    assert len(metric.results) == 3  # exactly one result per episode
    result = metric.evaluate(3)
    accs = [100, 50, 0]
    std = math.sqrt(sum((a - 50)**2 for a in accs) / 3)
    assert result['fewshot/accuracy'] == pytest.approx(50)
    assert result['fewshot/ci95'] == pytest.approx(1.96 * std / math.sqrt(3))
    assert result['fewshot/num_episodes'] == 3
    # Class 7: right in ep 0, wrong in ep 1 and 2; class 9: right in 0, 1.
    assert result['fewshot/class_acc/c7'] == pytest.approx(100 / 3)
    assert result['fewshot/class_acc/c9'] == pytest.approx(200 / 3)
    lines = [json.loads(x) for x in open(tmp_path / 'episodes.jsonl')]
    assert [x['episode_idx'] for x in lines] == [0, 1, 2]
    assert lines[1] == dict(
        episode_idx=1,
        class_ids=[9, 7],
        query_class_ids=[9, 7],
        labels=[0, 1],
        preds=[0, 0],
        accuracy=50.0,
        scores=[[1.0, 0.0], [1.0, 0.0]],
        class_names=['c9', 'c7'])


@pytest.mark.parametrize('name', ['episodes.jsonl', 'episodes.pkl'])
def test_dump_creates_its_folder(tmp_path, name):
    # tools/test.py --dump work_dirs/new/x.jsonl: the folder does not exist
    # until the end of the test run, when the dump is written.
    out = tmp_path / 'new' / 'sub' / name
    metric = FewShotAccuracy(out_file=str(out))
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(10)])
    metric.process(None, episodes())
    metric.evaluate(3)
    assert out.is_file()


def test_text_baseline_accuracy_from_records(tmp_path):
    """Records with text-only predictions (the loop's text_baseline) give
    text_accuracy and text_ci95 beside the few-shot figures, and the dump
    carries the paths, scores and text predictions."""
    metric = FewShotAccuracy(out_file=str(tmp_path / 'episodes.jsonl'))
    metric.dataset_meta = dict(classes=['a', 'b', 'c'])
    records = [
        dict(
            episode_idx=i,
            class_ids=[0, 2],
            query_class_ids=[0, 2],
            labels=[0, 1],
            preds=[0, 1],
            scores=[[0.9, 0.1], [0.2, 0.8]],
            support_paths=['a/1.mp4', 'c/1.mp4'],
            query_paths=['a/2.mp4', 'c/2.mp4'],
            text_preds=text,
            text_scores=[[0.6, 0.4], [0.5, 0.5]])
        for i, text in enumerate([[0, 1], [0, 0], [1, 0], [0, 1]])
    ]
    metric.process(None, records)
    result = metric.evaluate(4)
    accs = [100, 50, 0, 100]
    std = math.sqrt(sum((a - 62.5)**2 for a in accs) / 4)
    assert result['fewshot/accuracy'] == pytest.approx(100)
    assert result['fewshot/text_accuracy'] == pytest.approx(62.5)
    assert result['fewshot/text_ci95'] == pytest.approx(1.96 * std / 2)
    line = json.loads(open(tmp_path / 'episodes.jsonl').readline())
    assert line['class_names'] == ['a', 'c']
    assert line['support_paths'] == ['a/1.mp4', 'c/1.mp4']
    assert line['query_paths'] == ['a/2.mp4', 'c/2.mp4']
    assert line['text_preds'] == [0, 1]
    assert sum(line['scores'], []) == pytest.approx([0.9, 0.1, 0.2, 0.8])


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_scores_are_an_error_naming_the_episode(bad):
    metric = FewShotAccuracy()
    samples = episodes()
    samples[3]['pred_score'] = torch.tensor([bad, 0.])
    metric.process(None, samples[:2])
    with pytest.raises(FloatingPointError, match=r'episode\(s\): episode 1'):
        metric.process(None, samples[2:])
    # Nothing of the bad batch was scored.
    assert len(metric.results) == 1


def test_check_finite_logits_names_the_episodes():
    logits = torch.zeros(4, 6, 3)
    check_finite_logits(logits, [10, 11, 12, 13])
    logits[1, 5, 2] = float('nan')
    logits[3, 0, 0] = -float('inf')
    with pytest.raises(FloatingPointError) as err:
        check_finite_logits(logits, [10, 11, 12, 13])
    assert '2 episode(s): episode 11, 13.' in str(err.value)
    with pytest.raises(FloatingPointError, match='episode 13'):
        check_finite_logits(logits[3:].numpy(), [13])
    with pytest.raises(ValueError, match='4 episodes of logits for 3'):
        check_finite_logits(logits, [1, 2, 3])
