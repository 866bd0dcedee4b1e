"""Optuna's TPESampler on the problems of bench/optuna.ts (run by it; Debian's python3-optuna 3.1).

Reads one JSON job on stdin, prints one JSON answer on stdout:
  {"mode": "quality", "problem": {...}, "seeds": [..], "n_trials": N, "fix_logpdf_scale": false}
      -> {"best": [final best value per seed]}
      (fix_logpdf_scale: Optuna 3.1 with Optuna 3.5's fix of the continuous kernels' density)
  {"mode": "latency", "space": {...}, "sizes": [100, 1000, 10000], "asks": K}
      -> {"ms": {n: median ms of one ask that samples every parameter}}
The problems are the same closed forms as bench/optuna.ts (Branin, Hartmann6) or a table given as
rows (a config's value is its nearest row's, with the same distance as the TypeScript side).
"""
import json
import math
import random
import sys
import time

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def branin(c):
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(c):
    x = [c[f"x{j + 1}"] for j in range(6)]
    total = 0.0
    for i in range(4):
        inner = sum(HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j] * 1e-4) ** 2 for j in range(6))
        total += HARTMANN_ALPHA[i] * math.exp(-inner)
    return -total


def distributions(space):
    out = {}
    for name, d in space.items():
        t = d["type"]
        if t in ("uniform", "loguniform"):
            out[name] = optuna.distributions.FloatDistribution(d["lower"], d["upper"], log=t == "loguniform")
        elif t in ("randint", "lograndint"):
            out[name] = optuna.distributions.IntDistribution(d["lower"], d["upper"], log=t == "lograndint")
        else:
            # finite lists (choice, ordinal, finrange): what an Optuna user writes, suggest_categorical
            out[name] = optuna.distributions.CategoricalDistribution(d["values"])
    return out


def table_objective(problem):
    """Nearest row by the table's distance: a categorical mismatch counts 1, an ordered value its index gap over (size - 1), squared."""
    space, rows, values = problem["space"], problem["rows"], problem["values"]
    names = list(space)

    def coord(name, v):
        d = space[name]
        if d["kind"] == "choice":
            return v
        return d["values"].index(v) / max(1, len(d["values"]) - 1)

    coded = [[coord(n, r[n]) for n in names] for r in rows]

    def f(c):
        q = [coord(n, c[n]) for n in names]
        best, best_d = 0, math.inf
        for k, row in enumerate(coded):
            dist = 0.0
            for j, n in enumerate(names):
                if space[n]["kind"] == "choice":
                    dist += 0.0 if row[j] == q[j] else 1.0
                else:
                    dist += (row[j] - q[j]) ** 2
                if dist >= best_d:
                    break
            if dist < best_d:
                best, best_d = k, dist
        return values[best]

    return f


def patch_logpdf_scale():
    """Optuna 3.5's fix of its truncated normal's log density (optuna/optuna#5109, #5110): 3.1's
    omits the -log(scale) term, so each continuous kernel counts by its height, not its mass."""
    from optuna.samplers._tpe import _truncnorm

    unscaled = _truncnorm.logpdf

    def logpdf(x, a, b, loc=0, scale=1):
        return unscaled(x, a, b, loc, scale) - np.log(scale)

    _truncnorm.logpdf = logpdf


def quality(job):
    if job.get("fix_logpdf_scale"):
        patch_logpdf_scale()
    problem = job["problem"]
    f = {"branin": branin, "hartmann6": hartmann6}.get(problem["name"]) or table_objective(problem)
    dists = distributions(problem["space"])
    best = []
    for seed in job["seeds"]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")
        for _ in range(job["n_trials"]):
            trial = study.ask(dists)
            study.tell(trial, f(trial.params))
        best.append(study.best_value)
    return {"best": best}


def latency(job):
    dists = distributions(job["space"])
    rng = random.Random(0)
    out = {}
    for n in job["sizes"]:
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1), direction="minimize")
        trials = []
        for _ in range(n):
            params = {}
            for name, d in dists.items():
                if isinstance(d, optuna.distributions.CategoricalDistribution):
                    params[name] = rng.choice(d.choices)
                elif isinstance(d, optuna.distributions.IntDistribution):
                    params[name] = rng.randint(d.low, d.high)
                else:
                    params[name] = rng.uniform(d.low, d.high)
            trials.append(optuna.trial.create_trial(params=params, distributions=dists, value=rng.random()))
        study.add_trials(trials)
        times = []
        for _ in range(job["asks"]):
            t = time.process_time()
            trial = study.ask(dists)
            times.append((time.process_time() - t) * 1000)
            study.tell(trial, rng.random())
        times.sort()
        out[str(n)] = times[len(times) // 2]
    return {"ms": out}


if __name__ == "__main__":
    job = json.load(sys.stdin)
    print(json.dumps(quality(job) if job["mode"] == "quality" else latency(job)))
