# Copyright (c) mmfsar contributors. All rights reserved.
"""A real (non-editable) build and install of mmfsar, inherited from a
config outside the repository."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SOURCES = ('pyproject.toml', 'setup.py', 'setup.cfg', 'MANIFEST.in',
           'README.md', 'LICENSE', 'CHANGELOG.md', 'mmfsar', 'configs')


def run(args, cwd, env=None):
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=dict(os.environ, OMP_NUM_THREADS='1', **(env or {})),
        capture_output=True,
        text=True,
        timeout=600)
    if proc.returncode:
        raise AssertionError(f'{args} failed:\n{proc.stdout}{proc.stderr}')
    return proc.stdout


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """mmfsar built as a wheel from a copy of the sources and installed
    into its own folder (``pip install --target``)."""
    root = tmp_path_factory.mktemp('packaging')
    src = root / 'src'
    src.mkdir()
    for name in SOURCES:
        path = osp.join(REPO, name)
        if osp.isdir(path):
            shutil.copytree(
                path,
                src / name,
                ignore=shutil.ignore_patterns('__pycache__', '*.egg-info'))
        else:
            shutil.copy(path, src / name)
    run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-w',
        str(root / 'wheel'), '.'
    ], src)
    wheel = next((root / 'wheel').glob('mmfsar-*.whl'))
    run([
        sys.executable, '-m', 'pip', 'install', '--no-deps', '--target',
        str(root / 'site'),
        str(wheel)
    ], root)
    return root / 'site'


USER_SCRIPT = """
import contextlib, io, runpy, sys
data, work_dir = sys.argv[1:]
with contextlib.redirect_stdout(io.StringIO()) as printed:
    sys.argv = ['mmfsar', 'config', 'smoke/clip_fsar_tiny_smoke.py']
    try:
        runpy.run_module('mmfsar', run_name='__main__')
    except SystemExit as exit:
        assert exit.code == 0
smoke = printed.getvalue().strip()
with open('my_fsar.py', 'w') as f:
    f.write(f'_base_ = [{smoke!r}]\\ndata_root = {data!r}\\n'
            'model = dict(head=dict(num_layers=2))\\n')
import mmfsar
from mmaction.registry import RUNNERS
from mmengine.config import Config
cfg = Config.fromfile('my_fsar.py')
cfg.work_dir = work_dir
runner = RUNNERS.build(cfg)
dataset = runner.test_dataloader.dataset
print(smoke)
print(mmfsar.__file__)
print(dataset.dataset.ann_file, len(dataset.get_episode(0)['query']))
print(runner.cfg.model.head.num_layers, type(runner).__name__)
# The same config through the path computed in the _base_ line.
with open('my_fsar_import.py', 'w') as f:
    f.write("_base_ = [__import__('mmfsar').config_path("
            "'smoke/clip_fsar_tiny_smoke.py')]\\n")
print(Config.fromfile('my_fsar_import.py').test_dataloader ==
      Config.fromfile(smoke).test_dataloader)
"""


def test_installed_configs_are_inherited_from_another_codebase(
        installed, smoke_root, tmp_path):
    """``python -m mmfsar config NAME`` prints the installed config's path;
    a config in another folder inherits it by that path, retargets the
    data in one line and builds its runner and datasets."""
    user = tmp_path / 'my_project'
    user.mkdir()
    data = str(smoke_root / 'data' / 'smoke')
    out = run([sys.executable, '-c', USER_SCRIPT, data,
               str(tmp_path / 'wd')], user,
              dict(PYTHONPATH=str(installed))).splitlines()[-5:]
    assert out == [
        str(installed / 'mmfsar' / '.mim' / 'configs' / 'smoke' /
            'clip_fsar_tiny_smoke.py'),
        str(installed / 'mmfsar' / '__init__.py'),
        f'{data}/annotations/test.txt 3', '2 FewShotRunner', 'True'
    ]
