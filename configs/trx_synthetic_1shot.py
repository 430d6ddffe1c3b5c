# TRX (the authors' CNN_TRX: temporal cross transformers over frame pairs
# and triples, 1152-d projections) in the few-shot method
# comparison on the synthetic benchmark (tools/compare_methods.py): the
# shared recipe of configs/_base_/synthetic_comparison.py with this head.
_base_ = ['./_base_/synthetic_comparison.py']

model = dict(
    head=dict(
        type='TRXHead',
        in_channels=512,
        num_frames=8,
        cardinalities=(2, 3),
        proj_channels=1152))
