# TRX (the authors' CNN_TRX baseline) on the CPU demo's synthetic
# benchmark: otam_synthetic_1shot.py (data, schedule, tiny ViT frame
# encoder, no text) with the TRX head.
_base_ = ['./otam_synthetic_1shot.py']

# Released CNN_TRX sizes (pairs and triples, 1152-d keys and values,
# dropout 0.1) on the tiny ViT's 64-d features of 8 frames.
model = dict(
    head=dict(
        _delete_=True,
        type='TRXHead',
        in_channels=64,
        num_frames=8,
        cardinalities=(2, 3),
        proj_channels=1152))
