#!/usr/bin/env python3
"""The tree-ensemble row of docs/intent-eval.md: a small gradient-boosted
tree model over the relative features `casa eval intent --dump` writes, under
the same folds (by question) and the same operating-point rule as casa's own
cross-validation. Research only: the shipped model is casa's logistic regression.

    casa eval intent --data ../shared/eval/intent-dev.jsonl --dump /tmp/intent-features.csv
    python3 scripts/intent-trees.py /tmp/intent-features.csv [--features cosine,margin,z,softmax]
(needs numpy, pandas and scikit-learn: scripts/intent-trees.py --setup makes a venv under ~/.cache)
"""
import argparse, os, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("csv", nargs="?")
ap.add_argument("--features", default="cosine,margin,z,softmax")
ap.add_argument("--fit-on", choices=["dev", "both"], default="dev")
ap.add_argument("--allow-target", type=float, default=0.95)
ap.add_argument("--setup", action="store_true")
a = ap.parse_args()
if a.setup:
    venv = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "casa", "venv-intent")
    subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([os.path.join(venv, "bin", "pip"), "install", "--quiet", "numpy", "pandas", "scikit-learn"])
    print(os.path.join(venv, "bin", "python"))
    sys.exit(0)

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

df = pd.read_csv(a.csv)
feats = a.features.split(",")
dev, many = df[df.layout == "dev"], df[df.layout == "many"]
fit_rows = pd.concat([dev, many]) if a.fit_on == "both" else dev


def cut_for(p_allowed, target):
    p = np.sort(p_allowed)
    return p[min(int(np.floor((1 - target) * len(p) + 1e-9)), len(p) - 1)]


def recall(rows, p, cut):
    y = rows.allow.values == 1
    return (p[y] >= cut).mean(), (p[~y] < cut).mean()


res = {"dev": [], "many": []}
for k in sorted(df.fold.unique()):
    train = fit_rows[fit_rows.fold != k]
    m = HistGradientBoostingClassifier(max_depth=3, max_iter=100, learning_rate=0.1, random_state=0)
    m.fit(train[feats].values, train.allow.values)
    ptrain = m.predict_proba(train[feats].values)[:, 1]
    cut = cut_for(ptrain[train.allow.values == 1], a.allow_target)
    for name, rows in (("dev", dev), ("many", many)):
        test = rows[rows.fold == k]
        res[name].append(recall(test, m.predict_proba(test[feats].values)[:, 1], cut))
cells = []
for name in ("dev", "many"):
    r = np.array(res[name])
    cells += [f"{r[:, 0].mean():.3f} ± {r[:, 0].std(ddof=1):.3f}", f"{r[:, 1].mean():.3f} ± {r[:, 1].std(ddof=1):.3f}"]
print(f"| trees({', '.join(feats)}), fit on {a.fit_on} | " + " | ".join(cells) + " |")
