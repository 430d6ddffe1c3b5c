# Copyright (c) mmfsar contributors. All rights reserved.
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

from mmfsar.engine.checkpoint import (message_hub_from_plain,
                                      message_hub_to_plain, trusted_loading)


def test_message_hub_round_trip_is_weights_only_safe(tmp_path):
    hub = MessageHub('test_round_trip')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    hub.update_info('iter', np.int64(7))
    plain = message_hub_to_plain(hub.state_dict())
    torch.save(dict(message_hub=plain), tmp_path / 'hub.pth')
    loaded = torch.load(tmp_path / 'hub.pth', weights_only=True)
    restored = message_hub_from_plain(loaded['message_hub'])
    buffer = restored['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(
        np.mean([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5]))
    assert restored['runtime_info']['iter'] == 7


def test_pickled_checkpoint_is_refused_unless_trusted(tmp_path, monkeypatch):
    path = str(tmp_path / 'legacy.pth')
    torch.save(dict(state_dict={}, message_hub=HistoryBuffer()), path)
    monkeypatch.delenv('MMFSAR_TRUST_CHECKPOINTS', raising=False)
    with pytest.raises(pickle.UnpicklingError) as err:
        CheckpointLoader.load_checkpoint(path)
    assert path in str(err.value) and 'MMFSAR_TRUST_CHECKPOINTS' in str(
        err.value)
    with trusted_loading('a test'):
        assert 'message_hub' in CheckpointLoader.load_checkpoint(path)
    monkeypatch.setenv('MMFSAR_TRUST_CHECKPOINTS', '1')
    assert 'message_hub' in CheckpointLoader.load_checkpoint(path)
