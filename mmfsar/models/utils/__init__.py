# Copyright (c) mmfsar contributors. All rights reserved.
from .open_clip_builder import build_clip_model, load_clip_pretrained
from .otam import (cosine_similarity_eps, cross_cosine_similarity_eps,
                   otam_alignment, otam_distance, otam_distance_reference,
                   otam_one_direction)
from .relation_layers import (FeedForward, PostNormMultiHeadAttention,
                              PreNormSelfAttention, PreNormTransformerLayer,
                              ScaledPositionalEncoding, bimhm_distance,
                              scaled_sinusoid)

__all__ = [
    'FeedForward', 'PostNormMultiHeadAttention', 'PreNormSelfAttention',
    'PreNormTransformerLayer', 'ScaledPositionalEncoding', 'bimhm_distance',
    'scaled_sinusoid', 'build_clip_model', 'cosine_similarity_eps',
    'cross_cosine_similarity_eps', 'load_clip_pretrained', 'otam_alignment',
    'otam_distance', 'otam_distance_reference', 'otam_one_direction'
]
