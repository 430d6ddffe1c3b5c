# Copyright (c) mmfsar contributors. All rights reserved.
import os
import os.path as osp
import re
from contextlib import contextmanager

from mmaction.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook
from mmengine.logging import print_log

from ..checkpoint import PARTIAL_SUFFIX, write_atomic

_PARTIAL = re.compile(r'^\..+\.[0-9a-f]{32}' + re.escape(PARTIAL_SUFFIX) + '$')


class _DeferredRemoval:
    """A file backend whose ``remove`` and ``rmtree`` only note the path."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.pending = []

    def remove(self, path: str) -> None:
        self.pending.append(path)

    def rmtree(self, path: str) -> None:
        self.pending.append(path)

    def __getattr__(self, name: str):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that never leaves a run without a complete
    checkpoint to resume from.

    mmengine's hook removes the oldest checkpoint (``max_keep_ckpts``) and
    the previous best one before it writes the new one, writes files in
    place and rewrites ``last_checkpoint`` in place. So a save that fails
    (a full disk, a kill, a preemption) can leave ``last_checkpoint``
    naming a deleted or truncated file. This hook, with the atomic writes
    that ``import mmfsar`` installs
    (:func:`~mmfsar.engine.checkpoint.save_checkpoint_atomic`):

    - writes every checkpoint, and ``last_checkpoint``, to a temporary file
      renamed over the final name once complete;
    - removes old checkpoints only after the new checkpoint and
      ``last_checkpoint`` are complete;
    - removes temporary files that a killed save left behind
      (``.<name>.<hex>.partial``) when training starts.

    A kill between the rename and the removal leaves an old checkpoint
    behind, never a missing one. The arguments are ``CheckpointHook``'s.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process():
            self._remove_partial_files({self.out_dir, runner.work_dir})

    @staticmethod
    def _remove_partial_files(folders) -> None:
        for folder in folders:
            if not osp.isdir(folder):
                continue  # not a local folder
            for name in sorted(os.listdir(folder)):
                if _PARTIAL.match(name):
                    os.remove(osp.join(folder, name))
                    print_log(
                        f'Removed {osp.join(folder, name)}, left by a save '
                        'that did not finish.',
                        logger='current',
                        level=30)

    @contextmanager
    def _removals_after_success(self):
        """Inside the block, removals wait; they happen when it completes
        and are dropped if it raises."""
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)
        self.file_backend = deferred
        try:
            yield
        finally:
            self.file_backend = backend
        # A path removed and then written again (a new best checkpoint of
        # the same iteration) is the new file: keep it.
        current = {self.last_ckpt, getattr(self, 'best_ckpt_path', None)}
        current.update(getattr(self, 'best_ckpt_path_dict', {}).values())
        for path in deferred.pending:
            if path in current:
                continue
            if backend.isfile(path):
                backend.remove(path)
            elif backend.isdir(path):  # a DeepSpeed checkpoint is a folder
                backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        with self._removals_after_success():
            # The bookkeeping of mmengine's hook (resumed runs read
            # keep_ckpt_ids and last_ckpt from the message hub), in the
            # order: note, write, then remove.
            if self.max_keep_ckpts > 0 and not (
                    self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    oldest = self.keep_ckpt_ids.popleft()
                    if is_main_process():
                        self.file_backend.remove(
                            self.file_backend.join_path(
                                self.out_dir,
                                self.filename_tmpl.format(oldest)))
                self.keep_ckpt_ids.append(step)
                runner.message_hub.update_info('keep_ckpt_ids',
                                               list(self.keep_ckpt_ids))
            filename = self.filename_tmpl.format(step)
            self.last_ckpt = self.file_backend.join_path(
                self.out_dir, filename)
            runner.message_hub.update_info('last_ckpt', self.last_ckpt)
            runner.save_checkpoint(
                self.out_dir,
                filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
            if is_main_process():
                last = self.last_ckpt.encode()
                write_atomic(
                    osp.join(runner.work_dir, 'last_checkpoint'),
                    lambda f: f.write(last))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # mmengine records the new best path and score before it writes the
        # file; if the write fails, the record goes back to the old file.
        info = runner.message_hub.runtime_info
        recorded = {k: v for k, v in info.items() if k.startswith('best_')}
        path = getattr(self, 'best_ckpt_path', None)
        paths = dict(getattr(self, 'best_ckpt_path_dict', {}))
        try:
            with self._removals_after_success():
                super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            for key in [k for k in info if k.startswith('best_')]:
                del info[key]
            info.update(recorded)
            if hasattr(self, 'best_ckpt_path'):
                self.best_ckpt_path = path
            if hasattr(self, 'best_ckpt_path_dict'):
                self.best_ckpt_path_dict = paths
            raise
