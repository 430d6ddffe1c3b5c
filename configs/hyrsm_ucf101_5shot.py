# HyRSM++, UCF101, 5-way 5-shot: the released
# HyRSMplusplus_UCF101_5shot_v1.yaml, the 2-shot recipe with K = 5.
_base_ = ['./hyrsm_ucf101_2shot.py']

shots = 5
train_dataloader = dict(dataset=dict(num_shots=shots, num_queries=8 - shots))
val_dataloader = dict(dataset=dict(num_shots=shots))
test_dataloader = dict(dataset=dict(num_shots=shots))
