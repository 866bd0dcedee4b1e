"""The objective of the scikit-learn example: a small MLP on the digits data set, its validation error.

Shared by tune_digits.py (tunelab's in-process loop) and bench/python-inprocess.ts's Optuna side,
so that both tune the very same function.
"""
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

# SigOpt's parameter form (POST /v1/experiments); Optuna's equivalent is optuna_params below
PARAMETERS = [
    {"name": "hidden", "type": "int", "bounds": {"min": 16, "max": 128}},
    {"name": "alpha", "type": "double", "bounds": {"min": 1e-5, "max": 1e-1}, "transformation": "log"},
    {"name": "learning_rate_init", "type": "double", "bounds": {"min": 1e-4, "max": 1e-1}, "transformation": "log"},
]
METRIC = "error"

_data = None
# CPU seconds spent in objective() by this process (the bench tells the loops' own cost from it)
objective_cpu = 0.0


def data():
    """The digits split once per process (a trial in this interpreter pays no load)."""
    global _data
    if _data is None:
        x, y = load_digits(return_X_y=True)
        _data = train_test_split(x / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    return _data


def objective(config, max_iter=60):
    """Validation error (1 - accuracy) of an MLP with these hyperparameters; deterministic per config."""
    global objective_cpu
    start = time.process_time()
    x_train, x_valid, y_train, y_valid = data()
    model = MLPClassifier(
        hidden_layer_sizes=(int(config["hidden"]),),
        alpha=float(config["alpha"]),
        learning_rate_init=float(config["learning_rate_init"]),
        max_iter=max_iter,
        random_state=0,
    )
    with warnings.catch_warnings():
        # max_iter is kept small on purpose: the convergence warning says nothing new here
        warnings.simplefilter("ignore")
        model.fit(x_train, y_train)
    error = 1.0 - model.score(x_valid, y_valid)
    objective_cpu += time.process_time() - start
    return error


def optuna_params(trial):
    """PARAMETERS as an Optuna trial samples them."""
    return {
        "hidden": trial.suggest_int("hidden", 16, 128),
        "alpha": trial.suggest_float("alpha", 1e-5, 1e-1, log=True),
        "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-1, log=True),
    }
