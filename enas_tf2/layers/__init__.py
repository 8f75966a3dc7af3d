"""Keras layers shared by the weight-shared search child and the fixed final network.

Each module holds one layer class and, where the weight-shared child needs it, a raw functional
form that takes the weights as tensors, so both models run exactly the same maths.
"""

from enas_tf2.layers.batch_norm import BatchNorm, fused_batch_norm
from enas_tf2.layers.classifier_head import ClassifierHead
from enas_tf2.layers.factorized_reduction import (FactorizedReduction, factorized_paths,
                                                  factorized_reduction)
from enas_tf2.layers.conv_bn import ConvBn, relu_conv_bn
from enas_tf2.layers.imagenet_stem import ImageNetStem
from enas_tf2.layers.pool import Pool3x3, avg_pool_3x3, max_pool_3x3
from enas_tf2.layers.sep_conv import SepConv, relu_depthwise_pointwise, sep_conv

__all__ = [
    "BatchNorm", "ClassifierHead", "ConvBn", "FactorizedReduction", "ImageNetStem", "Pool3x3",
    "SepConv",
    "avg_pool_3x3", "factorized_paths", "factorized_reduction",
    "fused_batch_norm", "max_pool_3x3", "relu_conv_bn", "relu_depthwise_pointwise", "sep_conv",
]
