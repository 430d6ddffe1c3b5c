# CLIP-FSAR, HMDB51, 5-way 1-shot, CLIP RN50 (D = 1024): the backbone of
# every released config.
_base_ = ['./clip_fsar_hmdb51_1shot.py']

model = dict(
    backbone=dict(model_name='RN50'),
    text_encoder=dict(model_name='RN50'),
    head=dict(in_channels=1024))
