# Copyright (c) mmfsar contributors. All rights reserved.
"""Packaging hook: the metadata lives in pyproject.toml.

A built (non-editable) mmfsar carries a copy of the repository's configs
in ``mmfsar/.mim/configs``, where MMAction2 keeps its own, so an installed
mmfsar can be inherited from (``python -m mmfsar config NAME`` prints the
path). Editable installs read the repository's ``configs/`` directly.
"""
import os.path as osp
import shutil
from setuptools import setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


class BuildPyWithConfigs(build_py):
    """``build_py`` that also copies ``configs/`` into the package."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = osp.join(self.build_lib, 'mmfsar', '.mim', 'configs')
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(
            osp.join(HERE, 'configs'),
            target,
            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(cmdclass=dict(build_py=BuildPyWithConfigs))
