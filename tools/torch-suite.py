#!/usr/bin/python3
"""The torch suite (issue 15): small torch 1.13 modules and 12 small models, exported at opset 13 with seeded
random weights, each with torch's own input tensor and torch's float output for it.

    nice -n 10 /usr/bin/python3 tools/torch-suite.py        # ~20 s, one CPU thread

Writes test/fixtures/torch-suite/{modules,models}/NAME.onnx, NAME.input.npy (the tensor as torch holds it: NCHW,
NCL or [N, T, F]) and NAME.output.npy. The suite also gathers the torch modules the op fixtures already export
(test/fixtures/onnx/tensor/make_torch_tensor.py, test/fixtures/spatial/make_spatial_models.py, the BatchNorm1d/3d
and activation modules of test/fixtures/onnx/make_*_models.py): they are not exported twice here, and
test/torch-suite.test.ts reads them where they are. The models' inputs are standard normal, the distribution
the test and `npm run suite:torch` calibrate and evaluate on. Seeded, deterministic, one thread: running it
twice gives byte-identical files on the same machine.
"""
import os
import warnings

import torch
import torch.nn as nn
from torchvision.models import mobilenet_v2, mobilenet_v3_small
from torchvision.models.resnet import BasicBlock
from torchvision.models.shufflenetv2 import ShuffleNetV2
from torchvision.models.squeezenet import Fire

from torch_export import export_npy, randomize_bn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "torch-suite")
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
warnings.filterwarnings("ignore")


def export(kind, name, module, x):
    folder = os.path.join(ROOT, kind)
    os.makedirs(folder, exist_ok=True)
    export_npy(folder, name, module, x)


# ---------------------------------------------------------------------------------------------------------
# Modules the other fixture scripts do not export.


class SoftmaxOver(nn.Module):
    """A convolution, then softmax over one axis of its NCHW output (1: channels, -1: width)."""

    def __init__(self, dim):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.dim = dim

    def forward(self, x):
        return torch.softmax(self.conv(x), dim=self.dim)


class HardSwishSE(nn.Module):
    """MobileNetV3's bottleneck: expand, Hardswish, depthwise, squeeze-excite with Hardsigmoid, project."""

    def __init__(self, c=8, e=16):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(c, e, 1, bias=False), nn.BatchNorm2d(e), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(e, e, 3, padding=1, groups=e, bias=False), nn.BatchNorm2d(e), nn.Hardswish())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(e, 4, 1), nn.ReLU(), nn.Conv2d(4, e, 1), nn.Hardsigmoid())
        self.project = nn.Sequential(nn.Conv2d(e, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.dw(self.expand(x))
        return x + self.project(y * self.se(y))


class Recurrent(nn.Module):
    """An LSTM or GRU over [N, T, F] (batch_first), the last step's hidden state to a linear classifier."""

    def __init__(self, cell, features=8, hidden=16, classes=5):
        super().__init__()
        self.rnn = cell(features, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def modules():
    torch.manual_seed(15)
    export("modules", "batchnorm2d", randomize_bn(nn.Sequential(
        nn.BatchNorm2d(3), nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU())), torch.randn(1, 3, 10, 9))
    export("modules", "batchnorm1d_sequence", randomize_bn(nn.Sequential(
        nn.Conv1d(4, 8, 3), nn.BatchNorm1d(8), nn.ReLU(), nn.BatchNorm1d(8))), torch.randn(1, 4, 20))
    export("modules", "batchnorm3d_volume", randomize_bn(nn.Sequential(
        nn.BatchNorm3d(2), nn.Flatten(), nn.Linear(2 * 3 * 4 * 4, 6))), torch.randn(1, 2, 3, 4, 4))
    export("modules", "softmax_channels", SoftmaxOver(1), torch.randn(1, 3, 6, 5))
    export("modules", "softmax_last", SoftmaxOver(-1), torch.randn(1, 3, 6, 5))
    export("modules", "gelu_mlp", nn.Sequential(
        nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16), nn.LayerNorm(16)), torch.randn(1, 8, 16))
    export("modules", "hardswish_se", randomize_bn(HardSwishSE()), torch.randn(1, 8, 8, 8))
    export("modules", "conv1d_pools", randomize_bn(nn.Sequential(
        nn.Conv1d(3, 8, 5, padding=2), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(3, stride=2, ceil_mode=True),
        nn.Conv1d(8, 8, 3, groups=8), nn.ReLU(), nn.AvgPool1d(2), nn.Flatten(), nn.Linear(8 * 7, 4))),
        torch.randn(1, 3, 32))
    export("modules", "lstm", Recurrent(nn.LSTM), torch.randn(1, 10, 8))
    export("modules", "gru", Recurrent(nn.GRU), torch.randn(1, 10, 8))


# ---------------------------------------------------------------------------------------------------------
# The 12 models.


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def ds_cnn(width=32, classes=12):
    """MLPerf Tiny's keyword-spotting DS-CNN (49 frames × 10 MFCCs) at half width."""
    layers = [nn.Conv2d(1, width, (10, 4), stride=2, padding=(5, 1)), nn.BatchNorm2d(width), nn.ReLU()]
    for _ in range(4):
        layers += [nn.Conv2d(width, width, 3, padding=1, groups=width), nn.BatchNorm2d(width), nn.ReLU(),
                   nn.Conv2d(width, width, 1), nn.BatchNorm2d(width), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes)]
    return randomize_bn(nn.Sequential(*layers))


def squeezenet(classes=10):
    """SqueezeNet 1.1's layout (ceil-mode max pools, Fire modules, a conv classifier) at a quarter of its width."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True),
        Fire(16, 4, 16, 16), Fire(32, 4, 16, 16), nn.MaxPool2d(3, stride=2, ceil_mode=True),
        Fire(32, 8, 32, 32), Fire(64, 8, 32, 32), nn.MaxPool2d(3, stride=2, ceil_mode=True),
        Fire(64, 12, 48, 48), Fire(96, 16, 64, 64),
        nn.Conv2d(128, classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class ResNet18(nn.Module):
    """torchvision's ResNet-18 (its BasicBlock, [2, 2, 2, 2], 7×7 stem and max pool) at 1/8 of its width."""

    def __init__(self, widths=(8, 16, 32, 64), classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1))
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None if stride == 1 and c == w else nn.Sequential(
                nn.Conv2d(c, w, 1, stride=stride, bias=False), nn.BatchNorm2d(w))
            blocks += [BasicBlock(c, w, stride, down), BasicBlock(w, w)]
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1), 1))


class Conv1dNet(nn.Module):
    """An IMU-style 1-D CNN: 6 channels over 64 steps, two conv/BN/ReLU/pool stages, global pooling, a classifier."""

    def __init__(self, classes=6):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(6, 16, 5, padding=2), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(32, 32, 3, padding=1, groups=32), nn.Conv1d(32, 32, 1), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, classes))

    def forward(self, x):
        return self.net(x)


class Transformer(nn.Module):
    """A 2-layer transformer encoder (d_model 16, 2 heads, GELU feed-forward 32) over 12 tokens of 8 features,
    mean-pooled to a classifier."""

    def __init__(self, tokens=12, features=8, d=16, classes=5):
        super().__init__()
        self.embed = nn.Linear(features, d)
        self.position = nn.Parameter(torch.randn(1, tokens, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, 2, dim_feedforward=32, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = nn.Linear(d, classes)

    def forward(self, x):
        return self.fc(self.encoder(self.embed(x) + self.position).mean(1))


def sample(shape, count):
    """The suite's input distribution (the test and `npm run suite:torch` draw from the same one): per sample, a
    standard normal offset for each index of axis 1 (channels; tokens or steps for [N, T, F]) plus standard
    normal noise on every element."""
    offsets = torch.randn(count, shape[1], *[1] * (len(shape) - 2))
    return offsets + torch.randn(count, *shape[1:])


def export_model(name, module, shape):
    export("models", name, module, sample(shape, 1))


def models():
    torch.manual_seed(15)
    lenet = LeNet()
    export_model("lenet", lenet, [1, 1, 28, 28])
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    export_model("mlp", mlp, [1, 1, 28, 28])
    kws = ds_cnn()
    export_model("ds_cnn", kws, [1, 1, 49, 10])
    v2 = randomize_bn(mobilenet_v2(width_mult=0.25, num_classes=10))
    export_model("mobilenet_v2", v2, [1, 3, 32, 32])
    v3 = randomize_bn(mobilenet_v3_small(width_mult=0.25, num_classes=10))
    export_model("mobilenet_v3_small", v3, [1, 3, 32, 32])
    squeeze = squeezenet()
    export_model("squeezenet", squeeze, [1, 3, 48, 48])
    shuffle = randomize_bn(ShuffleNetV2([2, 4, 2], [8, 16, 32, 64, 128], num_classes=10))
    export_model("shufflenet_v2", shuffle, [1, 3, 32, 32])
    resnet = randomize_bn(ResNet18())
    export_model("resnet18", resnet, [1, 3, 32, 32])
    lstm = Recurrent(nn.LSTM, features=8, hidden=24, classes=6)
    export_model("lstm", lstm, [1, 16, 8])
    gru = Recurrent(nn.GRU, features=8, hidden=24, classes=6)
    export_model("gru", gru, [1, 16, 8])
    imu = randomize_bn(Conv1dNet())
    export_model("conv1d", imu, [1, 6, 64])
    encoder = Transformer()
    export_model("transformer", encoder, [1, 12, 8])


if __name__ == "__main__":
    modules()
    models()
