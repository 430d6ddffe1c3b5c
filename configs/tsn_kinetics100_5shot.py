# TSN, the frame-mean prototype baseline, as the authors' CNN_TSN,
# Kinetics-100, 5-way 5-shot, ImageNet ResNet-50. The authors' repository ships
# no config for this baseline; like every baseline config here it takes the
# released HyRSM++ recipe of the same dataset and shot count
# (hyrsm_kinetics100_5shot.py: backbone, 0.45/0.225 normalisation, optimiser,
# schedule, iterations, 5-shot training episodes with 3 queries per class,
# sampling and query augmentation) and swaps the head, without HyRSM++'s
# auxiliary losses (nor its x4 loss weights of Kinetics-100 at K >= 2).
# docs/methods.md lists what each baseline head computes.
_base_ = ['./hyrsm_kinetics100_5shot.py']

model = dict(head=dict(_delete_=True, type='FewShotTSNHead'))
