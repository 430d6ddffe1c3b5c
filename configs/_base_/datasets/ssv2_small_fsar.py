# SSv2-Small few-shot splits (64 train, 12 val, 24 test classes of 100
# videos), prepared by tools/data/build_fsar_annotations.py --dataset
# ssv2_small: videos under data_root as listed in the annotation files
# (20bn-something-something-v2/<id>.webm, or converted .mp4), shared with
# SSv2-Full. See docs/settings.md.
_base_ = ['./fsar_episodes.py']

data_root = 'data/ssv2'
ann_root = '${data_root}/annotations/ssv2_small'
