# The frame-mean baseline (the authors' CNN_TSN) on the CPU demo's
# synthetic benchmark: otam_synthetic_1shot.py (data, schedule, tiny ViT
# frame encoder, no text) with the frame-mean head. The classes of this
# benchmark are motions, which a mean over frames cannot tell from their
# reverse: this head is the order-blind reference point.
_base_ = ['./otam_synthetic_1shot.py']

# Released CNN_TSN: cosine of frame means, averaged over a class's shots,
# no temperature.
model = dict(head=dict(_delete_=True, type='FewShotTSNHead'))
