# Copyright (c) mmfsar contributors. All rights reserved.
import errno
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

from mmfsar.engine.checkpoint import (CheckpointReadError,
                                      UntrustedCheckpointError,
                                      message_hub_from_plain,
                                      message_hub_to_plain, resuming,
                                      save_checkpoint_atomic, trusted_loading)


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


class Marker:
    """Unpickling it creates a file: a stand-in for code in a checkpoint."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.mark.parametrize('env', [None, '0', 'false', '1', 'yes'])
def test_pickled_checkpoint_is_refused_unless_named(tmp_path, monkeypatch,
                                                    env):
    path, marker = str(tmp_path / 'legacy.pth'), tmp_path / 'marker'
    torch.save(dict(state_dict={}, extra=Marker(str(marker))), path)
    if env is None:
        monkeypatch.delenv('MMFSAR_TRUST_CHECKPOINTS', raising=False)
    else:
        monkeypatch.setenv('MMFSAR_TRUST_CHECKPOINTS', env)
    with pytest.raises(UntrustedCheckpointError) as err:
        CheckpointLoader.load_checkpoint(path)
    message = str(err.value)
    assert message.startswith(f'{path} holds pickled Python objects')
    assert 'it imports io.open' in message
    assert f'--trust-checkpoint {path}' in message
    assert f"trusted_checkpoints=['{path}']" in message
    noted = 'MMFSAR_TRUST_CHECKPOINTS is not read' in message
    assert noted == (env is not None)
    # Trusting another file does not trust this one.
    other = tmp_path / 'other.pth'
    torch.save({}, other)
    with trusted_loading([str(other)]):
        with pytest.raises(UntrustedCheckpointError):
            CheckpointLoader.load_checkpoint(path)
    assert not marker.exists()
    # Named (here through a different spelling of the same path): loaded.
    with trusted_loading(str(tmp_path / '.' / 'legacy.pth')):
        assert 'extra' in CheckpointLoader.load_checkpoint(path)
    assert marker.exists()


def test_trusted_checkpoints_must_name_files(tmp_path):
    with pytest.raises(TypeError, match='trusted_checkpoints must be'):
        with trusted_loading([3]):
            pass
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match=f'names {missing}, which'):
        with trusted_loading(missing):
            pass


def test_unreadable_checkpoints_name_the_file(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(1000))), good)
    data = good.read_bytes()
    cases = dict(
        empty=b'',
        half=data[:len(data) // 2],
        tail=data[:-10],
        text=b'not a checkpoint')
    for name, content in cases.items():
        path = tmp_path / f'{name}.pth'
        path.write_bytes(content)
        text = name == 'text'
        with pytest.raises(UntrustedCheckpointError
                           if text else CheckpointReadError) as err:
            CheckpointLoader.load_checkpoint(str(path))
        message = str(err.value)
        assert message.startswith(str(path)), name
        if name == 'empty':
            assert 'is empty (0 bytes)' in message
        elif name == 'text':
            assert message.startswith(
                f'{path} (16 bytes) cannot be loaded with torch.load('
                'weights_only=True) (Unsupported operand 110): it is corrupt')
        else:
            assert f'({len(content)} bytes) cannot be read' in message


def test_resume_needs_resume_state(tmp_path):
    path = str(tmp_path / 'weights.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(1))), path)
    assert 'state_dict' in CheckpointLoader.load_checkpoint(path)
    with resuming(path), pytest.raises(ValueError) as err:
        CheckpointLoader.load_checkpoint(path)
    assert str(err.value).startswith(
        f"{path} cannot resume a run: it has no 'meta', 'message_hub', "
        "'optimizer'.")
    assert f'--cfg-options load_from={path}' in str(err.value)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'iter_2.pth')
    save_checkpoint_atomic(dict(w=torch.zeros(1000)), path)

    def full_disk(obj, f, *args, **kwargs):
        f.write(b'PK\x03\x04 the first bytes')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(torch, 'save', full_disk)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint_atomic(dict(w=torch.ones(1000)), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ['iter_2.pth']
    assert torch.equal(
        torch.load(path, weights_only=True)['w'], torch.zeros(1000))
    # A new file is written whole, with the usual permissions.
    new = str(tmp_path / 'iter_4.pth')
    save_checkpoint_atomic(dict(w=torch.ones(3)), new)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(new).st_mode & 0o777 == 0o666 & ~umask
    assert sorted(os.listdir(tmp_path)) == ['iter_2.pth', 'iter_4.pth']
