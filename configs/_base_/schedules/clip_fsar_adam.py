# CLIP-FSAR optimisation as the released code runs it (docs/method.md): Adam
# with coupled L2 weight decay 1e-3 (0 for parameters named *bn* or *norm*),
# one episode per GPU per iteration, 16 episodes per optimizer step (the
# released runs: 4 GPUs x 4 accumulated iterations), and a per-iteration
# warm-up and step schedule. EpisodicTrainLoop derives the accumulation from
# the number of processes (16 on 1 GPU, 4 on 4, 2 on 8) and logs it; it refuses
# a number of processes that does not divide episodes_per_step unless
# optim_wrapper.accumulative_counts is set explicitly. max_iters counts
# iterations of each process, so fewer processes see fewer episodes.
train_cfg = dict(
    type='EpisodicTrainLoop',
    max_iters=5000,
    val_interval=300,
    episodes_per_step=16)
val_cfg = dict(type='EpisodicTestLoop')
test_cfg = dict(type='EpisodicTestLoop')

# A step with a non-finite loss or gradient is skipped and leaves the model
# as it was (BatchNorm statistics included); more than 10 skipped steps in a
# row, or more than a quarter of the steps of a validation interval, stop
# the run.
optim_wrapper = dict(
    type='FiniteOptimWrapper',
    on_nonfinite='skip',
    max_consecutive_skips=10,
    max_skip_share=0.25,
    optimizer=dict(
        type='Adam', lr=1e-5, betas=(0.9, 0.999), weight_decay=1e-3),
    paramwise_cfg=dict(custom_keys={
        'bn': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))

# Warm-up from 1e-6 to 1e-5 over the first 700 iterations (one
# "epoch"), then x0.1 at epoch 4 and x0.01 at epoch 6. The released code
# counts the epoch twice and decays at [1400, 2100]; set
# param_scheduler.1.milestones=[1400, 2100] to reproduce its runs.
released_milestones = [1400, 2100]
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 1e-5,
        by_epoch=False,
        begin=0,
        end=701),
    dict(
        type='MultiStepLR', milestones=[2800, 4200], gamma=0.1, by_epoch=False)
]

# 4 GPUs x 1 episode in the released runs.
auto_scale_lr = dict(enable=False, base_batch_size=4)
