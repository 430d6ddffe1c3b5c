# TSN, the frame-mean prototype baseline, as the authors' CNN_TSN, UCF101,
# 5-way 1-shot, ImageNet ResNet-50. The authors' repository ships no config for
# this baseline; like every baseline config here it takes the released HyRSM++
# recipe of the same dataset and shot count (hyrsm_ucf101_1shot.py: backbone,
# 0.45/0.225 normalisation, optimiser, schedule, iterations, 1-shot training
# episodes with 7 queries per class, sampling and query augmentation) and swaps
# the head, without HyRSM++'s auxiliary losses. docs/methods.md lists what each
# baseline head computes.
_base_ = ['./hyrsm_ucf101_1shot.py']

model = dict(head=dict(_delete_=True, type='FewShotTSNHead'))
