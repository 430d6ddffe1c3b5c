# CrossTransformer over frames (the authors' CNN_CrossTransformer
# baseline) on the CPU demo's synthetic benchmark: otam_synthetic_1shot.py
# (data, schedule, tiny ViT frame encoder, no text) with the
# CrossTransformer head.
_base_ = ['./otam_synthetic_1shot.py']

# Released CNN_CrossTransformer size (1024-d keys and values) on the tiny
# ViT's 64-d frame features.
model = dict(
    head=dict(
        _delete_=True,
        type='CrossTransformerHead',
        in_channels=64,
        hidden_channels=1024))
