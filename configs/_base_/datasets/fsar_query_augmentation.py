# Training-query augmentation of the released HyRSM++ and MoLo configs
# (SUPPORT_QUERY_DIFF on every dataset): support videos go through the
# dataset's train_pipeline, training queries through this one, which adds
# a random horizontal flip and a colour jitter shared by the frames of a
# video (applied whatever COLOR_AUG says). Segment sampling, as in
# fsar_pipelines.py; Kinetics-100's base has its own interval version.
# The released code flips SSv2 queries too, although SSv2 has left/right
# classes; kept for parity.
segment_query_pipeline = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=8, mode='segment'),
    dict(type='DecordDecode'),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomCrop', size=224),
    dict(
        type='VideoColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        grayscale_prob=0.3),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
