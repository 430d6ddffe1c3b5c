# OTAM (the authors' CNN_OTAM baseline) on the CPU demo's synthetic
# benchmark, the reference of the few-shot head comparison: the TRX, TSN
# and CrossTransformer configs of this benchmark inherit this file and
# change only the head.
#
# Everything but the head is clip_fsar_synthetic_1shot.py's: the same
# videos and episodes, schedule and frame encoder (the tiny random-weight
# open_clip ViT of configs/_base_/models/clip_fsar_tiny.py with its fixed
# sin-cos position embedding, fine-tuned). There is no text tower and no
# video-text loss: a FewShotRecognizer with the frame encoder and the head.
# The released baselines use an ImageNet ResNet-50 (ResNetFrames); the
# tiny ViT keeps the comparison about the head and trains on a 2-core CPU.
# The schedule is the one chosen for the CLIP-FSAR demo, not tuned per
# head.
_base_ = ['./clip_fsar_synthetic_1shot.py']

model = dict(
    type='FewShotRecognizer',
    text_encoder=None,
    loss_text=None,
    # Released CNN_OTAM: soft-min temperature 0.1, both directions summed,
    # distances averaged over a class's shots, no logit scale.
    head=dict(_delete_=True, type='OTAMHead', lbda=0.1))
