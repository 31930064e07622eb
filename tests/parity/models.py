"""models.py — PyTorch definitions of every dpf model: the reference the C engine is tested
against.

state_dict names match the dpf engine's parameter and buffer names exactly, so a dpf-exported
safetensors file loads with model.load_state_dict(..., strict=True), and the parity fixtures
(tests/parity/make_fixtures.py) name their tensors the way dpf_net_param()/dpf_net_buffer() do.

    import models
    net = models.build("resnet20", c=3, h=32, w=32, classes=10)

Models: mlp, lenet5, resnet20/32/56/110 (any resnet<6n+2>), wrn-28-K (any K >= 1), vgg16.
A slimmed model (`dpf export --slim`) is the same model with narrower layers: build(...,
widths={"layer1.0.conv1": 9, ...}) takes each named conv / linear layer's output width from the
dict (its "widths" metadata) and every other width from them.
Initialisation (dpf_net_init's reference): conv weights Kaiming normal (fan_out, relu), conv
biases 0, linear layers PyTorch's default, BN weight 1 / bias 0 / running mean 0 / var 1.
"""

import re

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["build", "known_models", "MLP", "LeNet5", "CifarResNet", "WideResNet", "VGG16"]


def _init_weights(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        # nn.Linear keeps PyTorch's default (uniform +-1/sqrt(fan_in) for weight and bias).


def _width(widths, name, default):
    """The width of layer `name`: the slimmed model's, else the model's own."""
    return int(widths.get(name, default)) if widths else default


class MLP(nn.Module):
    """flatten -> fc1 (C*H*W -> 300) -> ReLU -> fc2 (300 -> 100) -> ReLU -> fc3 (100 -> classes)."""

    def __init__(self, c, h, w, classes, widths=None):
        super().__init__()
        a, b = _width(widths, "fc1", 300), _width(widths, "fc2", 100)
        self.fc1 = nn.Linear(c * h * w, a)
        self.fc2 = nn.Linear(a, b)
        self.fc3 = nn.Linear(b, classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """Caffe LeNet-5 of the pruning literature (431k parameters on 1x28x28):
    conv1 (C->20, 5x5) -> ReLU -> maxpool 2 -> conv2 (20->50, 5x5) -> ReLU -> maxpool 2 ->
    flatten -> fc1 (->500) -> ReLU -> fc2 (500 -> classes)."""

    def __init__(self, c, h, w, classes, widths=None):
        super().__init__()
        oh, ow = (h - 4) // 2, (w - 4) // 2
        oh, ow = (oh - 4) // 2, (ow - 4) // 2
        if oh < 1 or ow < 1:
            raise ValueError("lenet5: input %dx%d is too small (needs at least 16x16)" % (h, w))
        c1, c2 = _width(widths, "conv1", 20), _width(widths, "conv2", 50)
        f1 = _width(widths, "fc1", 500)
        self.conv1 = nn.Conv2d(c, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * oh * ow, f1)
        self.fc2 = nn.Linear(f1, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


class ResBasicBlock(nn.Module):
    """CIFAR ResNet BasicBlock; shortcut = identity, or downsample = (1x1 conv stride s, BN).
    s_in, s_out, mid: the actual widths of the streams and of conv1 (a slimmed model's)."""

    def __init__(self, cin, cout, stride, s_in=None, s_out=None, mid=None):
        super().__init__()
        s_in, s_out, mid = s_in or cin, s_out or cout, mid or cout
        self.conv1 = nn.Conv2d(s_in, mid, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, s_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(s_out)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(s_in, s_out, 1, stride=stride, bias=False), nn.BatchNorm2d(s_out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.downsample is None else self.downsample(x)
        return F.relu(y + s)


class CifarResNet(nn.Module):
    """CIFAR ResNet (He et al. 2016): depth = 6n + 2, three stages of n BasicBlocks with 16/32/64
    channels and strides 1/2/2, global average pool, fc."""

    def __init__(self, depth, c, h, w, classes, widths=None):
        super().__init__()
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError("resnet%d: depth must be 6n+2" % depth)
        n = (depth - 2) // 6
        stream = _width(widths, "conv1", 16)
        self.conv1 = nn.Conv2d(c, stream, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stream)
        cin = 16
        for s, (width, stride) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
            blocks = []
            # a stage's stream: its blocks' conv2 outputs, added together (one width)
            out = _width(widths, "layer%d.0.conv2" % s, width)
            for i in range(n):
                mid = _width(widths, "layer%d.%d.conv1" % (s, i), width)
                blocks.append(ResBasicBlock(cin, width, stride if i == 0 else 1, stream, out, mid))
                cin, stream = width, out
            setattr(self, "layer%d" % s, nn.Sequential(*blocks))
        self.fc = nn.Linear(stream, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


class WideBasicBlock(nn.Module):
    """Pre-activation block of WideResNet-pytorch (no dropout)."""

    def __init__(self, cin, cout, stride, s_in=None, s_out=None, mid=None):
        super().__init__()
        s_in, s_out, mid = s_in or cin, s_out or cout, mid or cout
        self.bn1 = nn.BatchNorm2d(s_in)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(s_in, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(mid, s_out, 3, stride=1, padding=1, bias=False)
        self.equal_in_out = cin == cout
        self.convShortcut = None
        if not self.equal_in_out:
            self.convShortcut = nn.Conv2d(s_in, s_out, 1, stride=stride, padding=0, bias=False)

    def forward(self, x):
        if self.equal_in_out:
            o = self.relu1(self.bn1(x))
            y = self.conv2(self.relu2(self.bn2(self.conv1(o))))
            return x + y
        x = self.relu1(self.bn1(x))
        y = self.conv2(self.relu2(self.bn2(self.conv1(x))))
        return self.convShortcut(x) + y


class WideNetworkBlock(nn.Module):
    def __init__(self, n, cin, cout, stride, prefix="", widths=None, s_in=None):
        super().__init__()
        s_in = s_in or cin
        self.out = _width(widths, prefix + "layer.0.conv2", cout)  # the stage's stream
        self.layer = nn.Sequential(*[WideBasicBlock(
            cin if i == 0 else cout, cout, stride if i == 0 else 1, s_in if i == 0 else self.out,
            self.out, _width(widths, prefix + "layer.%d.conv1" % i, cout)) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-depth-K (Zagoruyko & Komodakis 2016), pre-activation, no dropout."""

    def __init__(self, depth, k, c, h, w, classes, widths=None):
        super().__init__()
        if depth < 10 or (depth - 4) % 6 != 0 or k < 1:
            raise ValueError("wrn-%d-%d: depth must be 6n+4 and K >= 1" % (depth, k))
        n = (depth - 4) // 6
        ws = [16, 16 * k, 32 * k, 64 * k]
        stem = _width(widths, "conv1", ws[0])
        self.conv1 = nn.Conv2d(c, stem, 3, stride=1, padding=1, bias=False)
        self.block1 = WideNetworkBlock(n, ws[0], ws[1], 1, "block1.", widths, stem)
        self.block2 = WideNetworkBlock(n, ws[1], ws[2], 2, "block2.", widths, self.block1.out)
        self.block3 = WideNetworkBlock(n, ws[2], ws[3], 2, "block3.", widths, self.block2.out)
        self.bn1 = nn.BatchNorm2d(self.block3.out)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(self.block3.out, classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.block3(self.block2(self.block1(x)))
        x = self.relu(self.bn1(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class VGG16(nn.Module):
    """VGG16-D with BN, CIFAR variant: features (conv 3x3 + bias, BN, ReLU / maxpool 2) then
    classifier Linear(512 * H' * W', classes). A max-pool whose input is below 2x2 becomes
    nn.Identity (keeps the features.N indices)."""

    def __init__(self, c, h, w, classes, widths=None):
        super().__init__()
        layers = []
        cin = c
        for v in VGG16_CFG:
            if v == "M":
                if h < 2 or w < 2:
                    layers.append(nn.Identity())
                else:
                    layers.append(nn.MaxPool2d(2, 2))
                    h, w = h // 2, w // 2
            else:
                v = _width(widths, "features.%d" % len(layers), v)
                layers += [nn.Conv2d(cin, v, 3, padding=1, bias=True), nn.BatchNorm2d(v),
                           nn.ReLU()]
                cin = v
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin * h * w, classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(torch.flatten(x, 1))


def known_models():
    return "mlp, lenet5, resnet20, resnet32, resnet56, resnet110, wrn-28-K (K = 1, 2, ...), vgg16"


def parse_widths(text):
    """The "widths" metadata of a slimmed model ("name:width,...") as a dict."""
    out = {}
    for item in text.split(","):
        name, _, value = item.rpartition(":")
        if not name or not value.isdigit() or int(value) < 1:
            raise ValueError("widths: bad item %r (expected name:width)" % item)
        out[name] = int(value)
    return out


def build(name, c, h, w, classes, widths=None):
    """Builds model `name` for inputs (c, h, w) and `classes` outputs, initialised as dpf does
    (not bit-identically: dpf has its own RNG); `widths` (a dict, or the metadata's string) the
    layer widths of a slimmed model. Raises ValueError for an unknown name."""
    name = name.strip().lower()
    if isinstance(widths, str):
        widths = parse_widths(widths)
    if name == "mlp":
        model = MLP(c, h, w, classes, widths)
    elif name == "lenet5":
        model = LeNet5(c, h, w, classes, widths)
    elif re.fullmatch(r"resnet\d+", name):
        model = CifarResNet(int(name[6:]), c, h, w, classes, widths)
    elif re.fullmatch(r"wrn-\d+-\d+", name):
        _, depth, k = name.split("-")
        model = WideResNet(int(depth), int(k), c, h, w, classes, widths)
    elif name == "vgg16":
        model = VGG16(c, h, w, classes, widths)
    else:
        raise ValueError("unknown model %r (known: %s)" % (name, known_models()))
    _init_weights(model)
    return model


if __name__ == "__main__":
    # Prints each model's parameter count for 1x28x28 and 3x32x32 inputs.
    for nm in ["mlp", "lenet5", "resnet20", "resnet32", "resnet56", "resnet110", "wrn-28-2",
               "wrn-28-4", "wrn-28-8", "vgg16"]:
        counts = []
        for shape in [(1, 28, 28), (3, 32, 32)]:
            m = build(nm, *shape, 10)
            counts.append(sum(p.numel() for p in m.parameters()))
        print("%-10s 1x28x28 %10d   3x32x32 %10d" % (nm, counts[0], counts[1]))
