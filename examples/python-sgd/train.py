"""A Python training script with the standard library only: logistic regression by mini-batch SGD
on a seeded two-moons data set, with a checkpoint per epoch, so a paused trial continues where it
stopped. Hyperparameters arrive as --name value arguments (they are also in $TUNELAB_CONFIG)."""
import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from tunelab_trial import checkpoint_dir, report  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--l2", type=float, required=True)
parser.add_argument("--batch_size", type=int, required=True)
parser.add_argument("--features", choices=["linear", "quadratic"], required=True)
parser.add_argument("--epochs", type=int, default=20)
args = parser.parse_args()


def moons(n, rng):
    """Two interleaved half circles with noise: not linearly separable, so the features matter."""
    rows = []
    for i in range(n):
        label = i % 2
        t = rng.uniform(0, math.pi)
        x, y = (math.cos(t), math.sin(t)) if label == 0 else (1 - math.cos(t), 0.5 - math.sin(t))
        rows.append(((x + rng.gauss(0, 0.2), y + rng.gauss(0, 0.2)), label))
    return rows


def features(p):
    x, y = p
    return [1.0, x, y] + ([x * x, y * y, x * y, x * x * x, y * y * y] if args.features == "quadratic" else [])


data_rng = random.Random(0)
train = [(features(p), c) for p, c in moons(400, data_rng)]
valid = [(features(p), c) for p, c in moons(200, data_rng)]
dim = len(train[0][0])


def sigmoid(z):
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def evaluate(w, rows):
    loss, correct = 0.0, 0
    for f, c in rows:
        p = sigmoid(sum(a * b for a, b in zip(w, f)))
        loss -= math.log(max(1e-12, p if c else 1 - p))
        correct += (p >= 0.5) == bool(c)
    return loss / len(rows), correct / len(rows)


ckpt = os.path.join(checkpoint_dir() or ".", "state.json")
state = {"epoch": 0, "w": [0.0] * dim, "rng": None}
if os.path.exists(ckpt):
    with open(ckpt) as fh:
        state = json.load(fh)
rng = random.Random(1)
if state["rng"] is not None:
    rng.setstate((state["rng"][0], tuple(state["rng"][1]), state["rng"][2]))
w = state["w"]

for epoch in range(state["epoch"] + 1, args.epochs + 1):
    order = list(range(len(train)))
    rng.shuffle(order)
    for start in range(0, len(order), args.batch_size):
        batch = order[start:start + args.batch_size]
        grad = [args.l2 * wi for wi in w]
        for i in batch:
            f, c = train[i]
            err = sigmoid(sum(a * b for a, b in zip(w, f))) - c
            for k in range(dim):
                grad[k] += err * f[k] / len(batch)
        w = [wi - args.lr * g for wi, g in zip(w, grad)]
    valid_loss, valid_accuracy = evaluate(w, valid)
    # report, then save: stopped in between, the resumed trial repeats this epoch (tunelab drops
    # the repeat) rather than skip it
    report(epoch=epoch, valid_loss=valid_loss, valid_accuracy=valid_accuracy)
    tmp = ckpt + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"epoch": epoch, "w": w, "rng": rng.getstate()}, fh)
    os.replace(tmp, ckpt)
