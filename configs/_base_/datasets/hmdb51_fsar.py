# HMDB51 few-shot splits (31 train, 10 val, 10 test classes), prepared by
# tools/data/build_fsar_annotations.py --dataset hmdb51: videos under
# data_root as videos/<class>/<video>.avi, annotations in
# data_root/annotations. See docs/settings.md.
_base_ = ['./fsar_episodes.py']

data_root = 'data/hmdb51'
