"""Symbol builders for the executor benchmarks, with the layer names of MXNet's
``example/image-classification/symbols`` (so memory plans and parameter files line up):

* :func:`vgg16` – VGG-16 (conv3 stacks 2-2-3-3-3, fc6/fc7 4096 with dropout, fc8),
* :func:`resnet50` – the pre-activation ResNet-50 (BatchNorm before each ReLU/conv,
  ``stageN_unitM_*`` names, ``bn_data`` input normalisation),
* :func:`resnet` – the same family for any depth; small images (height <= 32) give the
  CIFAR variant (3 stages; 164+ layers bottleneck, fewer basic blocks), e.g. ResNet-164,
* :func:`mlp` – 784-512-512-10 with ReLU.

Every network ends in ``SoftmaxOutput(name='softmax')``, so its label argument is
``softmax_label``.
"""
from __future__ import annotations

import mixnet as mx

__all__ = ["vgg16", "resnet", "resnet50", "mlp"]


def vgg16(num_classes: int = 1000):
    """VGG-16 as MXNet's ``symbols/vgg.py`` builds it (no batch norm)."""
    body = mx.sym.Variable("data")
    for i, (num, filters) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512))):
        for j in range(num):
            body = mx.sym.Convolution(data=body, kernel=(3, 3), pad=(1, 1), num_filter=filters,
                                      name="conv%d_%d" % (i + 1, j + 1))
            body = mx.sym.Activation(data=body, act_type="relu", name="relu%d_%d" % (i + 1, j + 1))
        body = mx.sym.Pooling(data=body, pool_type="max", kernel=(2, 2), stride=(2, 2),
                              name="pool%d" % (i + 1))
    body = mx.sym.Flatten(data=body, name="flatten")
    for k in (6, 7):
        body = mx.sym.FullyConnected(data=body, num_hidden=4096, name="fc%d" % k)
        body = mx.sym.Activation(data=body, act_type="relu", name="relu%d" % k)
        body = mx.sym.Dropout(data=body, p=0.5, name="drop%d" % k)
    body = mx.sym.FullyConnected(data=body, num_hidden=num_classes, name="fc8")
    return mx.sym.SoftmaxOutput(data=body, name="softmax")


def _residual_unit(data, num_filter: int, stride: int, dim_match: bool, name: str,
                   bottle_neck: bool, bn_mom: float = 0.9):
    """One pre-activation residual unit (BN-ReLU-conv twice, or thrice with a 1x1-3x3-1x1
    bottleneck at a quarter of the width); a 1x1 projection shortcut when shapes change."""
    def bn_relu(x, k):
        x = mx.sym.BatchNorm(data=x, fix_gamma=False, eps=2e-5, momentum=bn_mom,
                             name="%s_bn%d" % (name, k))
        return mx.sym.Activation(data=x, act_type="relu", name="%s_relu%d" % (name, k))

    def conv(x, k, filters, kernel, s):
        return mx.sym.Convolution(data=x, num_filter=filters, kernel=(kernel, kernel),
                                  stride=(s, s), pad=(kernel // 2, kernel // 2), no_bias=True,
                                  workspace=256, name="%s_conv%d" % (name, k))

    act1 = bn_relu(data, 1)
    if bottle_neck:
        quarter = int(num_filter * 0.25)
        body = conv(act1, 1, quarter, 1, 1)
        body = conv(bn_relu(body, 2), 2, quarter, 3, stride)
        body = conv(bn_relu(body, 3), 3, num_filter, 1, 1)
    else:
        body = conv(act1, 1, num_filter, 3, stride)
        body = conv(bn_relu(body, 2), 2, num_filter, 3, 1)
    if dim_match:
        shortcut = data
    else:
        shortcut = mx.sym.Convolution(data=act1, num_filter=num_filter, kernel=(1, 1),
                                      stride=(stride, stride), no_bias=True, workspace=256,
                                      name=name + "_sc")
    return body + shortcut


_IMAGENET_UNITS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
                   152: [3, 8, 36, 3], 200: [3, 24, 36, 3], 269: [3, 30, 48, 8]}


def resnet(num_layers: int, num_classes: int = 10, image_shape=(3, 32, 32)):
    """Pre-activation ResNet of ``num_layers`` layers as MXNet's ``symbols/resnet.py``.
    Images of height <= 32 get the CIFAR layout: three stages of ``(n-2)/9`` bottleneck
    units (n >= 164, widths 64/128/256) or ``(n-2)/6`` basic units (widths 16/32/64) after
    a 3x3 stem; larger images the ImageNet layout (7x7/2 stem, max-pool, four stages)."""
    height = image_shape[1]
    if height <= 32:
        if num_layers >= 164 and (num_layers - 2) % 9 == 0:
            units, filters, bottle = [(num_layers - 2) // 9] * 3, [16, 64, 128, 256], True
        elif num_layers < 164 and (num_layers - 2) % 6 == 0:
            units, filters, bottle = [(num_layers - 2) // 6] * 3, [16, 16, 32, 64], False
        else:
            raise ValueError("no CIFAR ResNet with %d layers (need 6n+2 < 164 or 9n+2 >= 164)"
                             % num_layers)
    else:
        if num_layers not in _IMAGENET_UNITS:
            raise ValueError("no ImageNet ResNet with %d layers (one of %s)"
                             % (num_layers, sorted(_IMAGENET_UNITS)))
        units = _IMAGENET_UNITS[num_layers]
        bottle = num_layers >= 50
        filters = [64, 256, 512, 1024, 2048] if bottle else [64, 64, 128, 256, 512]
    data = mx.sym.Variable("data")
    data = mx.sym.BatchNorm(data=data, fix_gamma=True, eps=2e-5, momentum=0.9, name="bn_data")
    if height <= 32:
        body = mx.sym.Convolution(data=data, num_filter=filters[0], kernel=(3, 3), stride=(1, 1),
                                  pad=(1, 1), no_bias=True, workspace=256, name="conv0")
    else:
        body = mx.sym.Convolution(data=data, num_filter=filters[0], kernel=(7, 7), stride=(2, 2),
                                  pad=(3, 3), no_bias=True, workspace=256, name="conv0")
        body = mx.sym.BatchNorm(data=body, fix_gamma=False, eps=2e-5, momentum=0.9, name="bn0")
        body = mx.sym.Activation(data=body, act_type="relu", name="relu0")
        body = mx.sym.Pooling(data=body, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                              pool_type="max", name="pool0")
    for i, n in enumerate(units):
        body = _residual_unit(body, filters[i + 1], 1 if i == 0 else 2, False,
                              "stage%d_unit1" % (i + 1), bottle)
        for j in range(n - 1):
            body = _residual_unit(body, filters[i + 1], 1, True,
                                  "stage%d_unit%d" % (i + 1, j + 2), bottle)
    body = mx.sym.BatchNorm(data=body, fix_gamma=False, eps=2e-5, momentum=0.9, name="bn1")
    body = mx.sym.Activation(data=body, act_type="relu", name="relu1")
    body = mx.sym.Pooling(data=body, global_pool=True, kernel=(7, 7), pool_type="avg",
                          name="pool1")
    body = mx.sym.Flatten(data=body, name="flatten0")
    body = mx.sym.FullyConnected(data=body, num_hidden=num_classes, name="fc1")
    return mx.sym.SoftmaxOutput(data=body, name="softmax")


def resnet50(num_classes: int = 1000):
    """ResNet-50 (v2, pre-activation) for 3x224x224 images."""
    return resnet(50, num_classes, (3, 224, 224))


def mlp(num_classes: int = 10, hidden=(512, 512)):
    """The 784-512-512-10 multilayer perceptron (``fc1``/``relu1``, ``fc2``/``relu2``,
    ``fc3``, ``softmax``)."""
    body = mx.sym.Variable("data")
    for k, h in enumerate(hidden):
        body = mx.sym.FullyConnected(data=body, num_hidden=h, name="fc%d" % (k + 1))
        body = mx.sym.Activation(data=body, act_type="relu", name="relu%d" % (k + 1))
    body = mx.sym.FullyConnected(data=body, num_hidden=num_classes, name="fc%d" % (len(hidden) + 1))
    return mx.sym.SoftmaxOutput(data=body, name="softmax")
