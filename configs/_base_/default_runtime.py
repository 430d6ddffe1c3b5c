# mmfsar runtime: mmaction's, plus what episodic training needs.
_base_ = ['mmaction::_base_/default_runtime.py']

# Registers mmfsar's modules (and applies its stack workarounds) in any
# runner, including MMAction2's own tools/train.py.
custom_imports = dict(imports=['mmfsar'], allow_failed_imports=False)
# mmengine's Runner, after resolving the '${data_root}'-style placeholders
# of the dataloaders against the final config (mmfsar's and MMAction2's
# tools/train.py and tools/test.py build the runner named here).
runner_type = 'FewShotRunner'

default_hooks = dict(
    # The model gets the class names of the split it runs on.
    class_names=dict(type='ClassNamesHook'),
    # Validation metrics logged at their training iteration.
    logger=dict(
        type='LoggerHook',
        interval=20,
        ignore_last=False,
        log_metric_by_epoch=False),
    # mmengine's CheckpointHook with atomic saves: a failed or killed save
    # leaves the previous checkpoint (and last_checkpoint) intact.
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1000,
        by_epoch=False,
        save_best='fewshot/accuracy',
        rule='greater',
        max_keep_ckpts=2))
# Checkpoints loadable with torch.load(weights_only=True), and resumed runs
# that continue with the random state they were saved with.
custom_hooks = [dict(type='SafeCheckpointHook'), dict(type='RandomStateHook')]

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
# NCCL on GPUs; mmfsar switches to gloo on machines without CUDA.
env_cfg = dict(dist_cfg=dict(backend='nccl'))
