# The optimisation of the released HyRSM++ and MoLo runs: CLIP-FSAR's
# (Adam, coupled L2 weight decay 1e-3, one episode per GPU per iteration,
# 16 episodes per optimizer step, warm-up and steps). The YAMLs'
# SOLVER.WEIGHT_DECAY (5e-4 or 5e-5) is never read by the released code;
# its OPTIMIZER.WEIGHT_DECAY 1e-3 applies. The released rule exempts
# parameters whose name contains "bn" or "norm"; there the ResNet stem
# BatchNorm is named "backbone.1" and so is decayed, here it is
# "backbone.bn1", hence the explicit key (the downsample BatchNorms keep
# their torchvision names, "downsample.1", and are decayed in both).
_base_ = ['./clip_fsar_adam.py']

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.bn1.': dict(decay_mult=1.)}))
