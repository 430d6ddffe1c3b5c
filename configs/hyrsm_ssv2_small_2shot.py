# HyRSM++, SSv2-Small, 5-way 2-shot: the released
# HyRSMplusplus_SSv2_Small_2shot_v1.yaml. The released K-shot files differ
# from the 1-shot one only in K (for training and test episodes), 8 - K
# training queries per class and, from 2 shots on, the head
# CNN_HyRSM_plusplus_5shot, whose set holds the class prototypes.
_base_ = ['./hyrsm_ssv2_small_1shot.py']

shots = 2
model = dict(head=dict(relation_set='prototypes'))
train_dataloader = dict(dataset=dict(num_shots=shots, num_queries=8 - shots))
val_dataloader = dict(dataset=dict(num_shots=shots))
test_dataloader = dict(dataset=dict(num_shots=shots))
