# HyRSM++, SSv2-Small, 5-way 4-shot: the released
# HyRSMplusplus_SSv2_Small_4shot_v1.yaml, the 2-shot recipe with K = 4.
_base_ = ['./hyrsm_ssv2_small_2shot.py']

shots = 4
train_dataloader = dict(dataset=dict(num_shots=shots, num_queries=8 - shots))
val_dataloader = dict(dataset=dict(num_shots=shots))
test_dataloader = dict(dataset=dict(num_shots=shots))
