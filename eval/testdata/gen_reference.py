"""Builds the inputs of eval's reference vectors and the Python-side values.

  gen_reference.py inputs IN.json            cases for R (and Python)
  gen_reference.py merge IN.json PROC.json OUT.json

Label codes follow model.Label: 1 positive, 0 negative, -1 uncertain,
-2 blank. Uncertain and blank rows are dropped before calling scikit-learn
and pROC, as eval drops them.
"""
import json
import platform
import sys

import numpy as np
import scipy
import scipy.linalg
import sklearn
from sklearn.metrics import roc_auc_score


def f32(a):
    """Rounds to float32 so Go's float32 features hold the same values."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def binary_cases(rng):
    cases = []

    def add(name, a, b, y):
        cases.append({"name": name, "a": [float(v) for v in a],
                      "b": [float(v) for v in b], "labels": [int(v) for v in y]})

    n = 60
    y = rng.choice([1, 0, 0, -1, -2], size=n, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    a = np.round(rng.normal(size=n) + 0.9 * (y == 1), 6)
    b = np.round(0.6 * a + rng.normal(size=n) * 0.8, 6)
    add("random_uncertain", a, b, y)

    n = 80
    y = (rng.random(n) < 0.4).astype(int)
    a = np.round(rng.random(n) * 0.6 + 0.3 * y, 1)  # heavy ties
    b = np.round(rng.random(n) * 0.6 + 0.2 * y, 1)
    add("ties", a, b, y)

    n = 40
    y = (rng.random(n) < 0.5).astype(int)
    add("constant_vs_informative", np.full(n, 0.5), np.round(rng.normal(size=n) + y, 6), y)
    add("constant_vs_constant", np.full(n, 0.2), np.full(n, 0.7), y)

    y = np.array([1] * 10 + [0] * 12)
    a = np.concatenate([np.linspace(0.6, 1.0, 10), np.linspace(0.0, 0.5, 12)])
    add("perfect", np.round(a, 6), np.round(rng.random(22), 6), y)

    add("m2n2", [0.9, 0.3, 0.4, 0.1], [0.2, 0.8, 0.4, 0.4], [1, 1, 0, 0])

    n = 400
    y = rng.choice([1, 0, -1], size=n, p=[0.3, 0.6, 0.1])
    a = np.round(rng.normal(size=n) + 1.2 * (y == 1), 3)
    b = np.round(a + rng.normal(size=n) * 0.7, 3)
    add("large_n400", a, b, y)

    # Degenerate cases: expected errors or defined values.
    add("one_class", [0.1, 0.5, 0.7], [0.2, 0.3, 0.1], [1, 1, 1])
    add("n1", [0.3], [0.4], [1])
    add("m1n1", [0.8, 0.2], [0.3, 0.3], [1, 0])
    add("m1n3", [0.8, 0.2, 0.5, 0.9], [0.3, 0.3, 0.1, 0.2], [1, 0, 0, 0])
    return cases


def bootstrap_case(rng):
    n = 40
    y = np.array([1] * 18 + [0] * 22)
    rng.shuffle(y)
    s = np.round(rng.normal(size=n) + 0.8 * y, 4)
    return {"name": "boot_n40", "scores": [float(v) for v in s], "labels": [int(v) for v in y],
            "reps": 200, "seed": 2024, "levels": [0.95, 0.9]}


def fd_case(rng):
    d = 5
    real = f32(rng.normal(size=(40, d)) @ rng.normal(size=(d, d)) * 0.5)
    synth = f32(rng.normal(size=(30, d)) @ rng.normal(size=(d, d)) * 0.5 + 0.3)
    mu1, mu2 = real.mean(0), synth.mean(0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(synth, rowvar=False)
    covmean, _ = scipy.linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    fd = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    return {"real": real.tolist(), "synth": synth.tolist(), "fd": fd}


def pr_case(rng, k=3):
    real = f32(rng.normal(size=(50, 4)))
    synth = f32(rng.normal(size=(45, 4)) * 1.3 + 0.4)

    def radii(x):
        d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        return np.partition(d, k, axis=1)[:, k]  # k-th neighbour, self excluded

    def inside(q, ref, r):
        d = np.sqrt(((q[:, None, :] - ref[None, :, :]) ** 2).sum(-1))
        return (d <= r[None, :]).any(1)

    precision = float(inside(synth, real, radii(real)).mean())
    recall = float(inside(real, synth, radii(synth)).mean())
    return {"real": real.tolist(), "synth": synth.tolist(), "k": k,
            "precision": precision, "recall": recall}


def macro_case(rng):
    n, L = 120, 4
    y = (rng.random((n, L)) < [0.2, 0.35, 0.5, 0.15]).astype(int)
    s = np.round(rng.normal(size=(n, L)) + 0.9 * y, 5)
    return {"labels": y.T.tolist(), "scores": s.T.tolist(),
            "macro": float(roc_auc_score(y, s, average="macro"))}


def sk_auc(a, y):
    y = np.asarray(y)
    keep = (y == 0) | (y == 1)
    try:
        return float(roc_auc_score(y[keep], np.asarray(a)[keep]))
    except ValueError:
        return None


def main():
    if sys.argv[1] == "inputs":
        rng = np.random.RandomState(20240601)
        out = {"binary": binary_cases(rng), "bootstrap": bootstrap_case(rng),
               "frechet": fd_case(rng), "precision_recall": pr_case(rng), "macro": macro_case(rng)}
        with open(sys.argv[2], "w") as f:
            json.dump(out, f)
        return
    with open(sys.argv[2]) as f:
        inp = json.load(f)
    with open(sys.argv[3]) as f:
        proc = json.load(f)
    for c in inp["binary"]:
        c["sklearn"] = {"auc_a": sk_auc(c["a"], c["labels"]), "auc_b": sk_auc(c["b"], c["labels"])}
        c["proc"] = proc["binary"][c["name"]]
    inp["unpaired"] = proc["unpaired"]
    inp["bootstrap"]["proc"] = proc["bootstrap"]
    inp["sources"] = {
        "generator": "eval/testdata/gen_reference.sh",
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "sklearn": sklearn.__version__,
        "R": proc["versions"]["R"], "pROC": proc["versions"]["pROC"],
    }
    with open(sys.argv[4], "w") as f:
        json.dump(inp, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
