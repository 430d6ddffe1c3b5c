# MoLo, SSv2-Full, 5-way 5-shot: the released MoLo_SSv2_Full_5shot_v1.yaml
# differs from the 1-shot file only in SHOT_TEST 5: it trains on 1-shot
# episodes exactly like molo_ssv2_full_1shot.py and tests on 5-shot episodes,
# whose prototypes are the means of the shots' tokens.
_base_ = ['./molo_ssv2_full_1shot.py']

val_dataloader = dict(dataset=dict(num_shots=5))
test_dataloader = dict(dataset=dict(num_shots=5))
