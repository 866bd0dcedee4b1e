"""SigOpt's controller/worker pattern on a tunelab study server, with only the API URL changed.

The controller creates the experiment once and starts the workers; every worker runs the same loop
(fetch the experiment, ask for a suggestion, evaluate, report an observation with the hostname as
metadata) until the observation budget is met. The server is the distributed scheduler: no two
workers get the same open suggestion.

    tunelab server --port 8080 &
    python3 controller_worker.py --server http://127.0.0.1:8080 --workers 4 --budget 40

The token, when the server has one, comes from $TUNELAB_TOKEN (never from argv).
"""
import argparse
import math
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from tunelab_client import Study, create_experiment  # noqa: E402


def evaluate_metric(assignments):
    """A stand-in for a classifier's accuracy: best near gamma = 0.05 with the rbf kernel."""
    gamma = assignments["gamma"]
    bonus = 0.05 if assignments["kernel"] == "rbf" else 0.0
    return 0.9 - 0.1 * (math.log10(gamma) - math.log10(0.05)) ** 2 + bonus


def run_worker(server, experiment_id):
    study = Study.connect("%s/v1/experiments/%s" % (server, experiment_id))
    hostname = socket.gethostname()
    experiment = study.fetch()
    while experiment["progress"]["observation_count"] < experiment["observation_budget"]:
        suggestion = study.ask()
        if suggestion is None:
            break
        value = evaluate_metric(suggestion["assignments"])
        study.tell([{"name": "Accuracy", "value": value}], metadata={"hostname": hostname, "pid": os.getpid()})
        experiment = study.fetch()
    study.close()


def controller(server, num_workers, budget, name):
    study = create_experiment(
        server,
        {
            "name": name,
            "parameters": [
                {"name": "gamma", "type": "double", "bounds": {"min": 0.001, "max": 1.0}, "transformation": "log"},
                {"name": "kernel", "type": "categorical", "categorical_values": ["rbf", "linear"]},
            ],
            "metrics": [{"name": "Accuracy", "objective": "maximize"}],
            "observation_budget": budget,
            "parallel_bandwidth": num_workers,
            "method": "RS",
        },
    )
    # launch the workers: here processes of this machine; on a cluster, one per machine
    workers = [subprocess.Popen([sys.executable, __file__, "--server", server, "--worker", study.id]) for _ in range(num_workers)]
    codes = [w.wait() for w in workers]
    best = study.fetch()["progress"]["best_observation"]
    study.close()
    print("experiment %s: %d observations; best Accuracy %.4f at %s; worker exit codes %s" % (study.id, study.experiment["progress"]["observation_count"], best["value"], best["assignments"], codes))
    return 0 if all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server", default=os.environ.get("TUNELAB_URL", "http://127.0.0.1:8080"))
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--budget", type=int, default=40)
    p.add_argument("--name", default="Classifier Accuracy")
    p.add_argument("--worker", help="run as a worker of this experiment id (the controller starts them)")
    a = p.parse_args()
    if a.worker:
        run_worker(a.server, a.worker)
    else:
        sys.exit(controller(a.server, a.workers, a.budget, a.name))
