"""A client of tunelab's study server (`tunelab server`) for Python, standard library only.

The server speaks SigOpt's v1 API; this client evaluates objectives in this interpreter, so that a
trial costs no new process (no `import sklearn` per trial):

    from tunelab_client import Study
    study = Study.connect("http://127.0.0.1:8080/v1/experiments/7")   # token: $TUNELAB_TOKEN
    study.optimize(lambda config: train(**config), n_workers=2)     # until the budget is met

or step by step, as SigOpt's workers do:

    s = study.ask()                        # None once the budget is met or the study stopped
    for epoch in range(1, 10):
        if study.report(epoch, loss):      # True: ASHA stops this trial
            break
    study.tell(loss, metadata={"hostname": socket.gethostname()})

Every request has a timeout and is retried with backoff (full jitter) while the server is
unreachable or restarting; a retried ask or tell_and_ask carries the first attempt's request id
(Idempotency-Key), so that the server answers it as it answered the first and nothing is recorded
twice or lost. Each thread is a worker of its own; the leases of the suggestions held
are renewed by a background thread.
"""
import inspect
import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

__all__ = ["Study", "create_experiment", "TunelabError", "SuggestionLost"]


class TunelabError(Exception):
    """The server refused a request (the message is the server's)."""

    def __init__(self, status, message, reason=None, field=None):
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.field = field


class SuggestionLost(TunelabError):
    """The observation of a suggestion that this worker no longer holds (its lease expired and another worker took it)."""


class _Api:
    """JSON over HTTP with a timeout per request, retried with backoff while the server cannot be reached."""

    def __init__(self, base, token, timeout, retry_seconds):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = "Bearer " + token

    def request(self, method, path, body=None, headers=None):
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, path, body, headers or {})
            except _Transient as e:
                elapsed = time.monotonic() - start
                if elapsed >= self.retry_seconds:
                    raise TunelabError(None, "cannot reach the study server %s: %s (%d attempts over %.0f s)" % (self.base, e, attempt, elapsed))
                time.sleep(min(self.retry_seconds - elapsed, random.random() * min(5.0, 0.1 * 2 ** attempt)))

    def _once(self, method, path, body, headers):
        data = None if body is None else json.dumps(body).encode("utf-8")
        h = dict(self.headers, **headers)
        if data is not None:
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                text = res.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            if e.code in (502, 503, 504):
                raise _Transient("HTTP %d" % e.code)
            try:
                err = json.loads(text)["error"]
            except Exception:
                err = {"message": "HTTP %d" % e.code}
            raise TunelabError(e.code, err.get("message"), err.get("reason"), err.get("field"))
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError, OSError) as e:
            raise _Transient(str(getattr(e, "reason", e)))


class _Transient(Exception):
    pass


def _split_url(url):
    """http://host:port/v1/experiments/7 -> ("http://host:port", "7")."""
    u = urllib.parse.urlsplit(url)
    parts = u.path.rstrip("/").split("/")
    if len(parts) < 3 or parts[-2] != "experiments" or parts[-3] != "v1" or not parts[-1].isdigit():
        raise ValueError("%r does not name a study on a server; expected http(s)://host:port/v1/experiments/<id>" % url)
    return "%s://%s%s" % (u.scheme, u.netloc, "/".join(parts[:-3])), parts[-1]


def _token(token):
    return token if token is not None else os.environ.get("TUNELAB_TOKEN")


def create_experiment(server, body, token=None, timeout=30, retry_seconds=60):
    """POST /v1/experiments (SigOpt's fields: name, parameters, metrics, observation_budget, parallel_bandwidth, metadata); returns a connected Study."""
    api = _Api(server, _token(token), timeout, retry_seconds)
    experiment = api.request("POST", "/v1/experiments", body)
    return Study(api, experiment)


class Study:
    """An experiment on a study server, as a worker (or several, one per thread) sees it."""

    def __init__(self, api, experiment):
        self._api = api
        self.id = experiment["id"]
        self.experiment = experiment
        # the optimized metrics, in the experiment's order: several make a multimetric experiment
        self.objectives = [m["name"] for m in experiment["metrics"] if m.get("strategy", "optimize") == "optimize"]
        self.metric = self.objectives[0]
        self._path = "/v1/experiments/%s" % self.id
        self._local = threading.local()
        self._lock = threading.Lock()
        # worker id -> set of suggestion ids held (renewed by the heartbeat thread)
        self._held = {}
        self._lost = set()
        lease = experiment["tunelab"]["definition"]["source"].get("study", {}).get("lease_seconds", 60)
        self._beat_every = lease / 3.0
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeats, name="tunelab-heartbeat", daemon=True)
        self._beat.start()

    @classmethod
    def connect(cls, url, token=None, timeout=30, retry_seconds=60):
        """The study at url (http://host:port/v1/experiments/<id>); the token defaults to $TUNELAB_TOKEN."""
        base, experiment_id = _split_url(url)
        api = _Api(base, _token(token), timeout, retry_seconds)
        return cls(api, api.request("GET", "/v1/experiments/%s" % experiment_id))

    # -- this thread's worker -------------------------------------------------------------

    def _worker(self):
        w = getattr(self._local, "worker", None)
        if w is None:
            host = socket.gethostname()
            w = "%s-%d-%s" % (host, os.getpid(), "%06x" % random.getrandbits(24))
            self._local.worker = w
            self._local.headers = {"X-Tunelab-Worker": w, "X-Tunelab-Host": host, "X-Tunelab-Pid": str(os.getpid())}
        return w

    def _headers(self):
        self._worker()
        return self._local.headers

    def _request_headers(self):
        # a new id for each request; _Api.request sends the same headers with each of its retries
        return dict(self._headers(), **{"Idempotency-Key": uuid.uuid4().hex})

    def fetch(self):
        """The experiment as it is now (progress.observation_count, progress.best_observation, ...)."""
        self.experiment = self._api.request("GET", self._path)
        return self.experiment

    def best_assignments(self):
        """The best observations so far: the best one, or with several optimized metrics the Pareto-efficient ones (SigOpt's best_assignments), each {"assignments", "values", ...}."""
        out, after = [], None
        while True:
            page = self._api.request("GET", self._path + "/best_assignments" + ("?after=%s" % after if after else ""))
            out.extend(page["data"])
            after = page["paging"].get("after")
            if not after:
                return out

    def ask(self):
        """This thread's next suggestion ({"id", "assignments", ...}), waiting while every slot is taken; None once the budget is met or the study stopped."""
        wait = 0.05
        while True:
            try:
                s = self._api.request("POST", self._path + "/suggestions", {}, self._request_headers())
            except TunelabError as e:
                if e.status != 409 or e.reason != "wait":
                    if e.status == 409:
                        return None
                    raise
                time.sleep(wait * (0.5 + random.random()))
                wait = min(2.0, wait * 1.5)
                continue
            return self._take(s)

    def _take(self, s):
        with self._lock:
            self._held.setdefault(self._worker(), set()).add(s["id"])
        self._local.suggestion = s
        return s

    def _current(self, suggestion):
        s = suggestion if suggestion is not None else getattr(self._local, "suggestion", None)
        if s is None:
            raise ValueError("no suggestion: call ask() first (or pass suggestion=)")
        return s["id"] if isinstance(s, dict) else str(s)

    def _values(self, values):
        if isinstance(values, (int, float)):
            if len(self.objectives) > 1:
                raise ValueError("this experiment optimizes %d metrics (%s): give every one's value as {name: value}, not one number" % (len(self.objectives), ", ".join(self.objectives)))
            return [{"name": self.metric, "value": float(values)}]
        if isinstance(values, dict):
            return [{"name": k, "value": float(v)} for k, v in values.items()]
        return list(values)

    def report(self, resource, value, suggestion=None):
        """An intermediate result (value: a number, or {metric: value}); True when ASHA stops the trial (across every worker's reports)."""
        sid = self._current(suggestion)
        r = self._api.request("POST", "%s/suggestions/%s/reports" % (self._path, sid), {"resource": resource, "values": self._values(value)}, self._headers())
        return r["decision"] == "stop"

    def _observation(self, sid, values, failed, metadata):
        body = {"suggestion": sid, "failed": bool(failed), "metadata": metadata or {}}
        if not failed:
            body["values"] = self._values(values)
        return body

    def tell(self, values=None, failed=False, metadata=None, suggestion=None):
        """The observation of this thread's suggestion: a number (the optimized metric), {metric: value}, SigOpt's [{name, value}], or failed=True."""
        sid = self._current(suggestion)
        body = self._observation(sid, values, failed, metadata)
        try:
            return self._api.request("POST", self._path + "/observations", body, self._headers())
        except TunelabError as e:
            if e.status == 409:
                raise SuggestionLost(e.status, str(e), e.reason)
            raise
        finally:
            with self._lock:
                self._held.get(self._worker(), set()).discard(sid)
            self._local.suggestion = None

    def tell_and_ask(self, values=None, failed=False, metadata=None, suggestion=None):
        """tell, then ask, in one request (optimize's loop): returns (the next suggestion or None, whether the observation
        was recorded: False when the suggestion had been lost)."""
        sid = self._current(suggestion)
        try:
            r = self._api.request("POST", self._path + "/tell_and_ask", self._observation(sid, values, failed, metadata), self._request_headers())
        finally:
            with self._lock:
                self._held.get(self._worker(), set()).discard(sid)
            self._local.suggestion = None
        if r["suggestion"] is not None:
            return self._take(r["suggestion"]), r["recorded"]
        return (self.ask() if r["reason"] == "wait" else None), r["recorded"]

    def open_suggestions(self):
        """SigOpt's recovery: the open suggestions (of every worker)."""
        return self._api.request("GET", self._path + "/suggestions?state=open&limit=1000")["data"]

    def optimize(self, objective, n_workers=1):
        """Evaluates objective(config) (or objective(config, trial) with trial.report(resource, value) -> should_stop) in this
        process, n_workers threads, until the budget is met. An objective that raises is told as failed and the loop goes on.
        Returns {"observations": n, "failed": n, "lost": n}."""
        takes_trial = len(inspect.signature(objective).parameters) >= 2
        counts = {"observations": 0, "failed": 0, "lost": 0}
        lock = threading.Lock()

        def loop():
            s = self.ask()
            while s is not None:
                trial = _Trial(self, s)
                try:
                    value = objective(s["assignments"], trial) if takes_trial else objective(s["assignments"])
                    failed, metadata = False, {}
                except Exception as e:  # the objective's own failure: told, and the loop goes on
                    value, failed, metadata = None, True, {"error": "%s: %s" % (type(e).__name__, e)}
                # the observation and the next suggestion in one request
                s, recorded = self.tell_and_ask(value, failed=failed, metadata=metadata, suggestion=s)
                key = ("failed" if failed else "observations") if recorded else "lost"
                with lock:
                    counts[key] += 1
                    if key == "failed":
                        counts["observations"] += 1

        errors = []

        def guarded(t):
            try:
                t()
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=guarded, args=(loop,), name="tunelab-worker-%d" % i) for i in range(n_workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return counts

    def _heartbeats(self):
        while not self._stop.wait(self._beat_every):
            with self._lock:
                held = {w: sorted(ids) for w, ids in self._held.items() if ids}
            for worker, ids in held.items():
                try:
                    r = self._api.request("POST", self._path + "/heartbeat", {"suggestions": ids}, {"X-Tunelab-Worker": worker, "X-Tunelab-Host": socket.gethostname(), "X-Tunelab-Pid": str(os.getpid())})
                except TunelabError:
                    continue
                with self._lock:
                    for sid in r["lost"]:
                        self._held.get(worker, set()).discard(sid)
                        self._lost.add(sid)

    def close(self):
        self._stop.set()


class _Trial:
    """What optimize's objective gets besides its config: report(resource, value) -> True when ASHA stops the trial."""

    def __init__(self, study, suggestion):
        self._study = study
        self.suggestion = suggestion
        self.id = suggestion["id"]

    def report(self, resource, value):
        return self._study.report(resource, value, suggestion=self.suggestion)
