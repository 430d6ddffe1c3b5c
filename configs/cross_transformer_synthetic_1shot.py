# CrossTransformer (the authors' CNN_CrossTransformer: query frames attend
# over a class's support frames) in the few-shot method
# comparison on the synthetic benchmark (tools/compare_methods.py): the
# shared recipe of configs/_base_/synthetic_comparison.py with this head.
_base_ = ['./_base_/synthetic_comparison.py']

model = dict(
    head=dict(
        type='CrossTransformerHead', in_channels=512, hidden_channels=1024))
