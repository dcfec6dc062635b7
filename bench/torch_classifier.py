"""PyTorch twin of model/classifier's network (see the comment at the top of
model/classifier/net.go), with the same parameter names, and of its
training-time augmentation (model/classifier/augment.go)."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_LABELS = 14


class Block(nn.Module):
    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1, stride=stride) if (cin != cout or stride != 1) else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Stage(nn.Module):
    pass


class Classifier(nn.Module):
    def __init__(self, a):
        super().__init__()
        w, g = a["widths"], a["groups"]
        self.stem = nn.Conv2d(a["in_channels"], w[0], 3, padding=1)
        self.stage = nn.ModuleList()
        ch = w[0]
        for s, width in enumerate(w):
            st = Stage()
            st.block = nn.ModuleList()
            for k in range(a["blocks_per_stage"]):
                st.block.append(Block(ch, width, 2 if (s > 0 and k == 0) else 1, g))
                ch = width
            self.stage.append(st)
        self.norm_out = nn.GroupNorm(g, ch)
        self.head = nn.Linear(ch, NUM_LABELS)

    def forward(self, x):
        h = self.stem(x)
        for st in self.stage:
            for b in st.block:
                h = b(h)
        feats = F.silu(self.norm_out(h)).mean(dim=(2, 3))
        return self.head(feats)


def augment(x, c):
    """Flip, small affine (bilinear, -1 fill) and Gaussian noise, drawn per
    image, as classifier.Augment."""
    n = x.shape[0]
    flip = (torch.rand(n) < c["flip_prob"]).float() * -2 + 1
    theta = (torch.rand(n) * 2 - 1) * c["max_rotate_deg"] * math.pi / 180
    scale = 1 + (torch.rand(n) * 2 - 1) * c["max_scale"]
    shift = (torch.rand(n, 2) * 2 - 1) * c["max_shift"] * 2
    cos, sin = torch.cos(theta) / scale, torch.sin(theta) / scale
    mat = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                       torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    out = F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
    return out + torch.randn_like(out) * c["noise_std"]
