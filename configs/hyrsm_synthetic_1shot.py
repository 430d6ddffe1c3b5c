# HyRSM++ (hybrid relation module and Bi-MHM set matching, with the
# per-frame classification and temporal coherence losses over the 24
# training classes) in the few-shot method
# comparison on the synthetic benchmark (tools/compare_methods.py): the
# shared recipe of configs/_base_/synthetic_comparison.py with this head.
_base_ = ['./_base_/synthetic_comparison.py']

model = dict(head=dict(type='HyRSMHead', in_channels=512, num_classes=24))
