# CLIP-FSAR with the CLIP RN50 image tower (D = 1024), OpenAI weights: the
# backbone of every released config.
_base_ = ['./clip_fsar_vit-b16.py']
clip_model = 'RN50'
model = dict(
    backbone=dict(model_name=clip_model),
    text_encoder=dict(model_name=clip_model),
    head=dict(in_channels=1024))
