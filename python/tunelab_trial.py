"""The trial side of tunelab's protocol for Python training scripts (standard library only).

Copy this file next to your script, or put tunelab's python/ folder on PYTHONPATH:

    from tunelab_trial import config, checkpoint_dir, report
    cfg = config()                      # {"lr": 0.01, ...} from $TUNELAB_CONFIG
    report(epoch=3, loss=0.41)          # prints: [tunelab] {"epoch": 3, "loss": 0.41}

Without the helper, one line does it:
    print("[tunelab] " + json.dumps({"epoch": 3, "loss": 0.41}), flush=True)
"""
import json
import os
import sys

REPORT_PREFIX = "[tunelab] "


def config():
    """The config this trial evaluates, from $TUNELAB_CONFIG (an empty dict outside tunelab)."""
    return json.loads(os.environ.get("TUNELAB_CONFIG", "{}"))


def checkpoint_dir():
    """The trial's checkpoint folder: what is saved here is there again when a paused trial resumes."""
    return os.environ.get("TUNELAB_CHECKPOINT_DIR")


def trial_id():
    raw = os.environ.get("TUNELAB_TRIAL_ID")
    return None if raw is None else int(raw)


def report(**values):
    """Reports one result; flushed at once, so the tuner sees it while the script runs on."""
    sys.stdout.write(REPORT_PREFIX + json.dumps(values) + "\n")
    sys.stdout.flush()
