"""PyTorch twin of model/ddpm's conditional U-Net (see the comment at the top
of model/ddpm/unet.go), with the same parameter names and layouts, so a Go
checkpoint maps onto it tensor for tensor. Built from the architecture JSON
that bench/modelbench prints for each case."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

COND_DIM = 22


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb_proj = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, semb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(semb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class AttnBlock(nn.Module):
    def __init__(self, c, groups, heads=1):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(x)).reshape(n, 3, self.heads, d, h * w)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        att = torch.softmax(torch.einsum("nhdl,nhdm->nhlm", q, k) / math.sqrt(d), dim=-1)
        o = torch.einsum("nhlm,nhdm->nhdl", att, v).reshape(n, c, h, w)
        return x + self.proj(o)


class Level(nn.Module):
    pass


class UNet(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        base, e, g = a["base_channels"], a["time_emb_dim"], a["groups"]
        mults, nrb = a["channel_mults"], a["num_res_blocks"]
        attn_res = a.get("attn_resolutions") or []
        self.time = nn.Module()
        self.time.fc1, self.time.fc2 = nn.Linear(base, e), nn.Linear(e, e)
        self.cond = nn.Module()
        self.cond.fc1, self.cond.fc2 = nn.Linear(COND_DIM, e), nn.Linear(e, e)
        self.cond.null = nn.Parameter(torch.randn(1, e) * 0.02)
        self.conv_in = nn.Conv2d(a["in_channels"], base, 3, padding=1)
        widths, ch = [base], base
        self.down = nn.ModuleList()
        for l, m in enumerate(mults):
            lv = Level()
            lv.res, lv.attn = nn.ModuleList(), nn.ModuleList()
            use_attn = (a["image_size"] >> l) in attn_res
            for _ in range(nrb):
                lv.res.append(ResBlock(ch, base * m, e, g))
                ch = base * m
                if use_attn:
                    lv.attn.append(AttnBlock(ch, g))
                widths.append(ch)
            if l < len(mults) - 1:
                lv.downsample = nn.Conv2d(ch, ch, 3, stride=2, padding=1)
                widths.append(ch)
            self.down.append(lv)
        self.mid = nn.Module()
        self.mid.res1 = ResBlock(ch, ch, e, g)
        self.mid.attn = AttnBlock(ch, g) if a.get("mid_attention") else None
        self.mid.res2 = ResBlock(ch, ch, e, g)
        self.up = nn.ModuleList([None] * len(mults))
        for l in reversed(range(len(mults))):
            lv = Level()
            lv.res, lv.attn = nn.ModuleList(), nn.ModuleList()
            out = base * mults[l]
            use_attn = (a["image_size"] >> l) in attn_res
            for _ in range(nrb + 1):
                lv.res.append(ResBlock(ch + widths.pop(), out, e, g))
                ch = out
                if use_attn:
                    lv.attn.append(AttnBlock(ch, g))
            if l > 0:
                lv.upsample = nn.Conv2d(ch, ch, 3, padding=1)
            self.up[l] = lv
        self.norm_out = nn.GroupNorm(g, ch)
        self.conv_out = nn.Conv2d(ch, a["in_channels"], 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, tfeat, cond, keep):
        temb = self.time.fc2(F.silu(self.time.fc1(tfeat)))
        cemb = self.cond.fc2(F.silu(self.cond.fc1(cond)))
        k = keep[:, None]
        semb = F.silu(temb + k * cemb + (1 - k) * self.cond.null)
        h = self.conv_in(x)
        skips = [h]
        for l, lv in enumerate(self.down):
            for r, res in enumerate(lv.res):
                h = res(h, semb)
                if len(lv.attn):
                    h = lv.attn[r](h)
                skips.append(h)
            if hasattr(lv, "downsample"):
                h = lv.downsample(h)
                skips.append(h)
        h = self.mid.res1(h, semb)
        if self.mid.attn is not None:
            h = self.mid.attn(h)
        h = self.mid.res2(h, semb)
        for l in reversed(range(len(self.up))):
            lv = self.up[l]
            for r, res in enumerate(lv.res):
                h = res(torch.cat([h, skips.pop()], 1), semb)
                if len(lv.attn):
                    h = lv.attn[r](h)
            if hasattr(lv, "upsample"):
                h = lv.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


def time_features(t, dim):
    """[sin(t f_k), cos(t f_k)], f_k = 10000^(-k/(dim/2)), as ddpm.TimeFeatures."""
    half = dim // 2
    f = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
    a = t.double()[:, None] * f[None, :]
    return torch.cat([torch.sin(a), torch.cos(a)], 1).float()


def cosine_schedule(steps, s, zero_snr):
    """abar of the cosine schedule, optionally rescaled to zero terminal SNR,
    as model/ddpm/schedule.go."""
    t = torch.arange(steps + 1, dtype=torch.float64)
    f = torch.cos(((t / steps) + s) / (1 + s) * math.pi / 2) ** 2
    abar_full = f / f[0]
    betas = torch.clamp(1 - abar_full[1:] / abar_full[:-1], max=0.999)
    abar = torch.cumprod(1 - betas, 0)
    if zero_snr:
        a = abar.sqrt()
        a0, aT = a[0].clone(), a[-1].clone()
        a = (a - aT) * a0 / (a0 - aT)
        abar = a * a
    return abar
