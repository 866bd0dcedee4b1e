"""Optuna's in-process loop on examples/sklearn-digits' objective (bench/python-inprocess.ts runs it).

    python3 optuna_digits.py --trials 20 --seed 0
The last line: {"trials", "best", "cpu_seconds", "objective_cpu_seconds"} (this process's CPU, the import of scikit-learn and Optuna included).
"""
import argparse
import json
import os
import resource
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "sklearn-digits"))
import optuna  # noqa: E402

import digits  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    digits.data()
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=a.seed))
    study.optimize(lambda trial: digits.objective(digits.optuna_params(trial)), n_trials=a.trials)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"trials": len(study.trials), "best": study.best_value, "cpu_seconds": usage.ru_utime + usage.ru_stime, "objective_cpu_seconds": digits.objective_cpu}))


if __name__ == "__main__":
    main()
