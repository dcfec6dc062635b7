"""PyTorch side of bench/model.sh: times one case (the twin of a
bench/modelbench case of the same name) and prints one JSON object with the
median step time and this process's peak RSS (VmHWM)."""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from torch_classifier import NUM_LABELS, Classifier, augment  # noqa: E402
from torch_unet import COND_DIM, UNet, cosine_schedule, time_features  # noqa: E402


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def op_case(name):
    """Op-level cases: forward and backward of one op with an MSE loss."""
    g = torch.Generator().manual_seed(1)

    def rnd(*s, grad=True):
        return torch.rand(*s, generator=g).requires_grad_(grad)

    if name.startswith("op_conv3x3"):
        c, hw = {"op_conv3x3_c32_32x32": (32, 32), "op_conv3x3_c64_16x16": (64, 16)}[name]
        x, w, tgt = rnd(32, c, hw, hw), rnd(c, c, 3, 3), rnd(32, c, hw, hw, grad=False)
        return lambda: F.mse_loss(F.conv2d(x, w, padding=1), tgt).backward()
    if name == "op_groupnorm_silu_c32_32x32":
        x, gm, bt, tgt = rnd(32, 32, 32, 32), rnd(32), rnd(32), rnd(32, 32, 32, 32, grad=False)
        return lambda: F.mse_loss(F.silu(F.group_norm(x, 8, gm, bt)), tgt).backward()
    if name == "op_small_cnn":
        layers, cin = [], 1
        for i, c in enumerate([16, 32, 64]):
            layers += [nn.Conv2d(cin, c, 3, stride=1 if i == 0 else 2, padding=1), nn.GroupNorm(8, c), nn.SiLU()]
            cin = c
        net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 14))
        x, tgt, mask = rnd(32, 1, 32, 32, grad=False), rnd(32, 14, grad=False), rnd(32, 14, grad=False)

        def step():
            net.zero_grad(set_to_none=False)
            l = F.binary_cross_entropy_with_logits(net(x), tgt, reduction="none")
            ((l * mask).sum() / mask.sum()).backward()

        return step
    return None


class EMA:
    """shadow <- d*shadow + (1-d)*w with d = min(decay, (1+n)/(10+n)), as
    model/optim.EMA."""

    def __init__(self, params, decay, warmup):
        self.params = list(params)
        self.shadow = [p.detach().clone() for p in self.params]
        self.decay, self.warmup, self.n = decay, warmup, 0

    @torch.no_grad()
    def update(self):
        d = min(self.decay, (1 + self.n) / (10 + self.n)) if self.warmup else self.decay
        for s, p in zip(self.shadow, self.params):
            s.mul_(d).add_(p, alpha=1 - d)
        self.n += 1


def unet_train_case(spec):
    """One ddpm.Stepper.Step: per-image timestep, noise and condition
    dropout, q_sample, forward, MSE on v, backward, clip-norm, AdamW, EMA."""
    a, tr = spec["arch"], spec["train"]
    torch.manual_seed(1)
    net = UNet(a)
    ad = tr["adam"]
    opt = torch.optim.AdamW(net.parameters(), lr=ad["lr"], betas=(ad["beta1"], ad["beta2"]),
                            eps=ad["eps"], weight_decay=ad["weight_decay"])
    warm = ad["warmup_steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) if warm else 1.0)
    ema = EMA(net.parameters(), tr["ema_decay"], tr["ema_warmup"])
    abar = cosine_schedule(tr["steps"], tr["cosine_offset"], tr["zero_terminal_snr"]).float()
    n, s = tr["batch_size"], a["image_size"]
    x0 = torch.rand(n, a["in_channels"], s, s) * 2 - 1
    cond = torch.randint(0, 2, (n, COND_DIM)).float()

    def step():
        t = torch.randint(0, tr["steps"], (n,))
        keep = (torch.rand(n) >= tr["cond_drop_prob"]).float()
        eps = torch.randn_like(x0)
        ab = abar[t][:, None, None, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        v = ab.sqrt() * eps - (1 - ab).sqrt() * x0
        loss = F.mse_loss(net(xt, time_features(t, a["base_channels"]), cond, keep), v)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if ad["clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), ad["clip_norm"])
        opt.step()
        sched.step()
        ema.update()

    return step, sum(p.numel() for p in net.parameters())


def classifier_train_case(spec):
    """One classifier.Stepper.Step: augmentation, label policy (uncertain
    ignored, blank as negative), forward, masked BCE, backward, clip-norm,
    AdamW, EMA."""
    a, tr = spec["arch"], spec["train"]
    torch.manual_seed(1)
    net = Classifier(a)
    ad = tr["adam"]
    opt = torch.optim.AdamW(net.parameters(), lr=ad["lr"], betas=(ad["beta1"], ad["beta2"]),
                            eps=ad["eps"], weight_decay=ad["weight_decay"])
    ema = EMA(net.parameters(), tr["ema_decay"], tr["ema_warmup"])
    n, s = tr["batch_size"], a["image_size"]
    x0 = torch.rand(n, a["in_channels"], s, s) * 2 - 1
    labels = torch.randint(-2, 2, (n, NUM_LABELS))
    tgt = (labels == 1).float()
    mask = (labels != -1).float()

    def step():
        logits = net(augment(x0, tr["augment"]))
        l = F.binary_cross_entropy_with_logits(logits, tgt, reduction="none")
        loss = (l * mask).sum() / mask.sum()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if ad["clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), ad["clip_norm"])
        opt.step()
        ema.update()

    return step, sum(p.numel() for p in net.parameters())


def ddim_case(spec):
    """Sampling one batch: DDIM (eta 0) over evenly spaced trailing steps
    with clipped x0, no guidance, as ddpm.Sampler."""
    a, tr, sp = spec["arch"], spec["train"], spec["sample"]
    torch.manual_seed(1)
    net = UNet(a).eval()
    abar = cosine_schedule(tr["steps"], tr["cosine_offset"], tr["zero_terminal_snr"])
    T, k = tr["steps"], sp["steps"]
    steps = [int(round(T - i * T / k)) - 1 for i in range(k)]
    n, s = sp["batch_size"], a["image_size"]
    cond = torch.randint(0, 2, (n, COND_DIM)).float()
    keep = torch.ones(n)

    @torch.no_grad()
    def step():
        x = torch.randn(n, a["in_channels"], s, s)
        for idx, i in enumerate(steps):
            tf = time_features(torch.full((n,), i), a["base_channels"])
            v = net(x, tf, cond, keep)
            ab = float(abar[i])
            x0 = (math.sqrt(ab) * x - math.sqrt(1 - ab) * v).clamp(-1, 1)
            eps = math.sqrt(1 - ab) * x + math.sqrt(ab) * v
            abj = float(abar[steps[idx + 1]]) if idx + 1 < len(steps) else 1.0
            x = math.sqrt(abj) * x0 + math.sqrt(1 - abj) * eps

    return step, sum(p.numel() for p in net.parameters())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--spec", default="{}", help="JSON from bench/modelbench (model cases)")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = json.loads(args.spec) if args.spec else {}
    params = None
    step = op_case(args.case)
    if step is None and args.case.startswith("classifier"):
        step, params = classifier_train_case(spec)
    elif step is None and "_train_" in args.case:
        step, params = unet_train_case(spec)
    elif step is None and args.case.startswith("ddim"):
        step, params = ddim_case(spec)
    if step is None:
        sys.exit(f"torch_bench: unknown case {args.case!r}")
    for _ in range(args.warmup):
        step()
    ts, cs = [], []
    for _ in range(args.steps):
        c0, t0 = time.process_time(), time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1e3)
        cs.append((time.process_time() - c0) * 1e3)
    ts.sort()
    cs.sort()
    out = {"name": args.case, "ms": ts[len(ts) // 2], "cpu_ms": cs[len(cs) // 2], "rss_mb": peak_rss_mb(),
           "steps": args.steps}
    if params is not None:
        out["params"] = params
    print(json.dumps(out))


if __name__ == "__main__":
    main()
