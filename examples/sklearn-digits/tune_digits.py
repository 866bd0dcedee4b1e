"""scikit-learn on a tunelab study server, evaluated in this interpreter (no new process per trial).

    tunelab server --port 8080 &
    python3 tune_digits.py --server http://127.0.0.1:8080 --budget 20

Creates the experiment (or joins it with --experiment ID), then study.optimize() evaluates the
digits MLP in process until the budget is met, several machines may run the same command with
--experiment: the server hands each a different suggestion. The token, when the server has one,
comes from $TUNELAB_TOKEN. The last line is the result as JSON (the tests and the bench read it).
"""
import argparse
import json
import os
import resource
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, HERE)
from tunelab_client import Study, create_experiment  # noqa: E402

import digits  # noqa: E402  (imports scikit-learn)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", default=os.environ.get("TUNELAB_URL", "http://127.0.0.1:8080"))
    p.add_argument("--experiment", help="join this experiment id rather than create one")
    p.add_argument("--name", default="digits-mlp")
    p.add_argument("--budget", type=int, default=20)
    p.add_argument("--method", default="BO", choices=["BO", "TPE", "RS"])
    p.add_argument("--workers", type=int, default=1, help="threads evaluating at once in this process")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if a.experiment:
        study = Study.connect("%s/v1/experiments/%s" % (a.server, a.experiment))
    else:
        study = create_experiment(
            a.server,
            {
                "name": a.name,
                "parameters": digits.PARAMETERS,
                "metrics": [{"name": digits.METRIC, "objective": "minimize"}],
                "observation_budget": a.budget,
                "parallel_bandwidth": a.workers,
                "method": a.method,
                "random_seed": a.seed,
                "metadata": {"dataset": "digits", "model": "MLPClassifier"},
            },
        )
    digits.data()
    counts = study.optimize(lambda config: digits.objective(config), n_workers=a.workers)
    experiment = study.fetch()
    study.close()
    best = experiment["progress"]["best_observation"]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print("experiment %s on %s: %d observations (%d here, %d failed); best error %.4f at %s" % (
        study.id, socket.gethostname(), experiment["progress"]["observation_count"], counts["observations"], counts["failed"], best["value"], best["assignments"]))
    print(json.dumps({"experiment": study.id, "observations": experiment["progress"]["observation_count"], "here": counts, "best": best["value"],
                      "assignments": best["assignments"], "cpu_seconds": usage.ru_utime + usage.ru_stime, "objective_cpu_seconds": digits.objective_cpu}))


if __name__ == "__main__":
    main()
