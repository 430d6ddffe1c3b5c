# Copyright (c) mmfsar contributors. All rights reserved.
from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


def _model(runner):
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def _classes(dataloader, stage: str):
    metainfo = getattr(dataloader.dataset, 'metainfo', None) or {}
    classes = metainfo.get('classes')
    if not classes:
        raise ValueError(
            f'The {stage} dataset has no class names in its metainfo; give '
            "its dataset metainfo=dict(classes='path/to/classes.txt').")
    return classes


@HOOKS.register_module()
class ClassNamesHook(Hook):
    """Give the model the class names of the split it is about to run on.

    Few-shot models see different classes in training and evaluation, and
    CLIP-based ones encode their names. As mmengine's loops hand a
    dataset's ``metainfo`` to the evaluator and visualizer, this hook hands
    ``metainfo['classes']`` to the model: the training split's names before
    training (``mode='train'``), the validation or test split's before each
    evaluation (``mode='eval'``). mmfsar's runtime config has it in
    ``default_hooks`` as ``class_names``, and mmfsar's episodic loops
    register one if a runner built from another runtime config lacks it.
    """
    priority = 'ABOVE_NORMAL'

    @staticmethod
    def _set(runner, dataloader, stage: str, mode: str) -> None:
        model = _model(runner)
        if hasattr(model, 'set_class_names'):
            model.set_class_names(_classes(dataloader, stage), mode)

    def before_train(self, runner) -> None:
        self._set(runner, runner.train_dataloader, 'training', 'train')

    def before_val(self, runner) -> None:
        self._set(runner, runner.val_dataloader, 'validation', 'eval')

    def before_test(self, runner) -> None:
        self._set(runner, runner.test_dataloader, 'test', 'eval')


def ensure_class_names_hook(runner) -> None:
    """Register a :class:`ClassNamesHook` unless the runner has one.

    mmfsar's episodic loops call this, so that configs built on
    MMAction2's own runtime (without mmfsar's ``default_hooks``) work too.
    """
    if not any(isinstance(hook, ClassNamesHook) for hook in runner.hooks):
        runner.register_hook(ClassNamesHook())
