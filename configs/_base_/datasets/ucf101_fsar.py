# UCF101 few-shot splits (70 train, 10 val, 21 test classes), prepared by
# tools/data/build_fsar_annotations.py --dataset ucf101: videos under
# data_root as videos/<Class>/v_*.avi, annotations in
# data_root/annotations. See docs/settings.md.
_base_ = ['./fsar_episodes.py']

data_root = 'data/ucf101'
