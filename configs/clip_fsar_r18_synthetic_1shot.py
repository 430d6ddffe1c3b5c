# CLIP-FSAR in the few-shot method comparison on the synthetic benchmark
# (tools/compare_methods.py; the shared recipe is
# configs/_base_/synthetic_comparison.py): the random ResNet-18 frame
# encoder of every method there, CLIP-FSAR's prototype modulation with
# bidirectional OTAM, and a tiny random-weight CLIP text tower (no CLIP
# weights can be downloaded here) whose 512-d embedding matches the
# encoder, with the demo's video-text loss. The CPU demo itself is
# clip_fsar_synthetic_1shot.py.
_base_ = ['./_base_/synthetic_comparison.py']

model = dict(
    type='CLIPFSAR',
    text_encoder=dict(
        type='OpenCLIPTextEncoder',
        model_name='mmfsar-tiny',
        model_cfg=dict(
            embed_dim=512,
            vision_cfg=dict(
                image_size=32,
                layers=1,
                width=32,
                head_width=16,
                patch_size=16),
            text_cfg=dict(
                context_length=16,
                vocab_size=49408,
                width=32,
                heads=2,
                layers=1)),
        pretrained=None),
    head=dict(
        type='PrototypeModulationHead',
        in_channels=512,
        num_heads=8,
        ffn_channels=512,
        metric=dict(type='OTAMHead', lbda=0.5, bidirectional=True)),
    loss_text=dict(type='VideoTextLoss', loss_weight=1.0, init_scale=10.0))
