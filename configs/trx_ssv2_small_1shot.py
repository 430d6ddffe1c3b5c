# TRX (Perrett et al., CVPR 2021) as the authors' CNN_TRX, SSv2-Small, 5-way
# 1-shot, ImageNet ResNet-50. The authors' repository ships no config for this
# baseline; like every baseline config here it takes the released HyRSM++
# recipe of the same dataset and shot count (hyrsm_ssv2_small_1shot.py:
# backbone, 0.45/0.225 normalisation, optimiser, schedule, iterations, 1-shot
# training episodes with 7 queries per class, sampling and query augmentation)
# and swaps the head, without HyRSM++'s auxiliary losses. docs/methods.md lists
# what each baseline head computes.
_base_ = ['./hyrsm_ssv2_small_1shot.py']

model = dict(head=dict(_delete_=True, type='TRXHead', in_channels=2048))
