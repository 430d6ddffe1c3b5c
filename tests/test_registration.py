# Copyright (c) mmfsar contributors. All rights reserved.
import os.path as osp
import subprocess
import sys

import pytest
from mmaction.registry import (DATA_SAMPLERS, DATASETS, HOOKS, LOOPS, METRICS,
                               MODELS, OPTIM_WRAPPERS, RUNNERS, TRANSFORMS)
from mmengine.registry import FUNCTIONS

import mmfsar

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

REGISTERED = {
    MODELS: [
        'CLIPFSAR', 'FewShotRecognizer', 'OpenCLIPVisual',
        'OpenCLIPTextEncoder', 'ResNetFrames', 'PrototypeModulationHead',
        'VideoTextLoss', 'OTAMHead', 'TRXHead', 'FewShotTSNHead',
        'CrossTransformerHead', 'HyRSMHead', 'MoLoHead'
    ],
    DATASETS: ['EpisodicDataset', 'FewShotVideoDataset'],
    METRICS: ['FewShotAccuracy'],
    LOOPS: ['EpisodicTrainLoop', 'EpisodicTestLoop'],
    TRANSFORMS: ['FewShotSampleFrames', 'VideoColorJitter'],
    DATA_SAMPLERS: ['EpisodeSampler'],
    HOOKS: [
        'AtomicCheckpointHook', 'ClassNamesHook', 'SafeCheckpointHook',
        'RandomStateHook'
    ],
    OPTIM_WRAPPERS: ['FiniteOptimWrapper'],
    FUNCTIONS: ['episode_collate'],
    RUNNERS: ['FewShotRunner'],
}


@pytest.mark.parametrize('registry', list(REGISTERED), ids=lambda r: r.name)
def test_import_registers_in_mmaction_registries(registry):
    for name in REGISTERED[registry]:
        cls = registry.get(name)
        assert cls is not None, name
        assert cls.__module__.startswith('mmfsar.'), name
        # In mmaction's own registry, not in a child (private) scope.
        assert registry.module_dict[name] is cls, name


def test_custom_imports_registers_in_a_fresh_interpreter():
    config = osp.join(REPO, 'configs', 'clip_fsar_hmdb51_5shot.py')
    script = f"""
import sys
from mmengine.config import Config
assert 'mmfsar' not in sys.modules
cfg = Config.fromfile({config!r})
assert 'mmfsar' in sys.modules, 'custom_imports did not import mmfsar'
from mmengine.registry import init_default_scope
from mmaction.registry import MODELS, DATASETS, METRICS, LOOPS
init_default_scope(cfg.default_scope)
print(MODELS.get(cfg.model.type).__module__,
      DATASETS.get(cfg.test_dataloader.dataset.type).__module__,
      METRICS.get(cfg.test_evaluator.type).__module__,
      LOOPS.get(cfg.test_cfg.type).__module__)
"""
    out = subprocess.run([sys.executable, '-c', script],
                         capture_output=True,
                         text=True,
                         check=True).stdout.split()
    assert out == [
        'mmfsar.models.recognizers.clip_fsar',
        'mmfsar.datasets.episodic_dataset',
        'mmfsar.evaluation.metrics.few_shot_accuracy',
        'mmfsar.engine.runner.episodic_test_loop'
    ]


def test_compat_makes_mmaction_models_importable():
    import mmaction.models  # noqa: F401  (fails on the bare 1.2.0 wheel)
    from mmaction.models.localizers import DRN

    from mmfsar import compat
    if not getattr(DRN, '__module__', '').startswith('mmaction.'):
        with pytest.raises(ImportError, match='mmaction2#2714'):
            DRN()
    compat.apply()  # idempotent
    assert mmfsar.__version__ == '.'.join(map(str, mmfsar.version_info))


def test_building_an_openai_config_downloads_nothing(monkeypatch):
    """Weights are loaded by init_weights(), never at construction, so a
    trained checkpoint can be tested on a machine without network."""
    import socket

    from mmengine.config import Config

    def no_network(*args, **kwargs):
        raise AssertionError('attempted a network connection')

    monkeypatch.setattr(socket.socket, 'connect', no_network)
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'clip_fsar_r50.py'))
    assert cfg.model.backbone.pretrained == 'openai'
    model = MODELS.build(cfg.model)
    # OpenAI weights were trained with QuickGELU; the architecture must
    # match them even before they are loaded.
    assert model.backbone.quick_gelu and model.text_encoder.quick_gelu
