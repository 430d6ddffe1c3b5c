# TSN (the authors' CNN_TSN: cosine of frame-mean features, averaged over a
# class's shots; blind to frame order) in the few-shot method
# comparison on the synthetic benchmark (tools/compare_methods.py): the
# shared recipe of configs/_base_/synthetic_comparison.py with this head.
_base_ = ['./_base_/synthetic_comparison.py']

model = dict(head=dict(type='FewShotTSNHead'))
