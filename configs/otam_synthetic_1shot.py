# OTAM (the authors' CNN_OTAM: soft-min temperature 0.1, both directions
# summed, distances averaged over a class's shots) in the few-shot method
# comparison on the synthetic benchmark (tools/compare_methods.py): the
# shared recipe of configs/_base_/synthetic_comparison.py with this head.
_base_ = ['./_base_/synthetic_comparison.py']

model = dict(head=dict(type='OTAMHead', lbda=0.1))
