# CLIP-FSAR with the CLIP ViT-B/16 image tower (D = 512), OpenAI weights.
clip_model = 'ViT-B-16'
model = dict(
    type='CLIPFSAR',
    backbone=dict(
        type='OpenCLIPVisual', model_name=clip_model, pretrained='openai'),
    text_encoder=dict(
        type='OpenCLIPTextEncoder',
        model_name=clip_model,
        pretrained='openai',
        prompt='a photo of {}'),
    head=dict(
        type='PrototypeModulationHead',
        in_channels=512,
        num_layers=1,
        num_heads=8,
        ffn_channels=2048,
        attn_out_drop=0.2,
        ffn_drop=0.05,
        merge_before=False,
        metric=dict(type='OTAMHead', lbda=0.5, bidirectional=True)),
    loss_text=dict(type='VideoTextLoss', loss_weight=1.0, init_scale=1.0),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[122.771, 116.746, 104.094],
        std=[68.501, 66.632, 70.323],
        format_shape='NCHW'))
