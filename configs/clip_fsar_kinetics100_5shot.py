# CLIP-FSAR, Kinetics-100, 5-way 5-shot, CLIP ViT-B/16 (docs/settings.md): the
# released 5-shot recipe trains on 1-shot episodes exactly like the 1-shot
# config and evaluates 5-shot episodes, averaging the raw features of the
# shots before prototype modulation (MERGE_BEFORE).
_base_ = ['./clip_fsar_kinetics100_1shot.py']

model = dict(head=dict(merge_before=True))
val_dataloader = dict(dataset=dict(num_shots=5))
test_dataloader = dict(dataset=dict(num_shots=5))
