"""Makes test/fixtures/pareto-optuna.json: random 2- and 3-D point sets (minimised) with Optuna 3.1's
hypervolume (WFG), non-dominated fronts (NSGA-II's fast non-dominated sort) and crowding distances,
the reference values test/pareto.test.ts checks src/results/pareto.ts against.

Run once with Debian's python3-optuna (apt-get install -y python3-optuna):
    /usr/bin/python3 bench/make-pareto-fixture.py > test/fixtures/pareto-optuna.json
"""
import json
import sys

import numpy as np
import optuna
from optuna._hypervolume import WFG
from optuna.samplers import NSGAIISampler
from optuna.samplers.nsgaii._sampler import _calc_crowding_distance
from optuna.study import StudyDirection
from optuna.trial import create_trial

rng = np.random.default_rng(20261207)
sets = []
for m in (2, 3):
    for n in (1, 5, 30, 200):
        for shape in ("uniform", "front"):
            pts = rng.random((n, m))
            if shape == "front":
                # near a concave front: many points non-dominated, some pushed off it
                pts = pts / np.linalg.norm(pts, axis=1, keepdims=True) * (1 + 0.1 * rng.random((n, 1)))
                pts = pts / 1.2
            ref = [1.1] * m
            hv = WFG().compute(pts.copy(), np.array(ref))
            trials = []
            for i, p in enumerate(pts):
                t = create_trial(values=[float(v) for v in p])
                t.number = i
                trials.append(t)
            fronts = NSGAIISampler()._fast_non_dominated_sort(list(trials), [StudyDirection.MINIMIZE] * m)
            ranks = [0] * n
            for r, front in enumerate(fronts):
                for t in front:
                    ranks[t.number] = r
            front0 = sorted(t.number for t in fronts[0])
            crowd = _calc_crowding_distance([trials[i] for i in front0])
            sets.append({
                "m": m,
                "shape": shape,
                "points": pts.round(12).tolist(),
                "reference": ref,
                "hypervolume": hv,
                "ranks": ranks,
                "front": front0,
                "crowding": [crowd[i] if np.isfinite(crowd[i]) else None for i in front0],
            })
json.dump({"generator": "bench/make-pareto-fixture.py", "optuna": optuna.__version__, "sets": sets}, sys.stdout)
