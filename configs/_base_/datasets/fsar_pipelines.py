# CLIP-FSAR frame pipelines (docs/method.md, "Frames"): 8 frames in
# TSN-style segments, squashed to 256x256, a random 224 crop in training
# and the centre 224 crop in test. CLIP mean/std are applied by the
# model's data preprocessor.
train_pipeline = [
    dict(type='DecordInit'),
    dict(type='FewShotSampleFrames', num_frames=8, mode='segment'),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomCrop', size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
# Deterministic: segment centres. The released code samples test frames at
# random; for parity set test_mode=False here and evaluate with
# test_cfg.cache_features=False.
test_pipeline = [
    dict(type='DecordInit'),
    dict(
        type='FewShotSampleFrames',
        num_frames=8,
        mode='segment',
        test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs')
]
