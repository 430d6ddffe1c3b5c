# A tiny CLIP-FSAR with random weights (nothing to download): for the smoke
# tests and the CPU demo. The open_clip config is given explicitly.
tiny_clip = dict(
    embed_dim=64,
    vision_cfg=dict(
        image_size=32, layers=2, width=64, head_width=32, patch_size=8),
    text_cfg=dict(
        context_length=16, vocab_size=49408, width=32, heads=2, layers=1))
model = dict(
    type='CLIPFSAR',
    backbone=dict(
        type='OpenCLIPVisual',
        model_name='mmfsar-tiny',
        model_cfg=tiny_clip,
        pretrained=None),
    text_encoder=dict(
        type='OpenCLIPTextEncoder',
        model_name='mmfsar-tiny',
        model_cfg=tiny_clip,
        pretrained=None),
    head=dict(
        type='PrototypeModulationHead',
        in_channels=64,
        num_heads=8,
        ffn_channels=128,
        metric=dict(type='OTAMHead', lbda=0.5, bidirectional=True)),
    loss_text=dict(type='VideoTextLoss', loss_weight=1.0),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[122.771, 116.746, 104.094],
        std=[68.501, 66.632, 70.323],
        format_shape='NCHW'))
