"""A jobwire worker in Python, standard library only.

It speaks jobwire's remote-worker protocol (docs/remote-workers.md): it
registers the job types it serves, claims jobs in batches up to its free
slots, runs them on a thread pool, extends its lease with each job's progress
(and learns there when a job was cancelled), records durable steps, and
completes or fails each job. See README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

PREFIX = "/workers/v1"


class ProtocolError(Exception):
    """The service refused a call: its HTTP status, code and message."""

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None,
                 extensions: Optional[Dict[str, Any]] = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.field = field
        # The answer's other extensions: for TENANT_QUOTA_EXCEEDED, limit, value, current, requested, tenantId.
        self.extensions = extensions or {}


class NonRetryableError(Exception):
    """Raise from a handler to fail the job at once, whatever retries it has left."""


class JobStopped(Exception):
    """Raised inside a handler (by ctx.check()) once the job was cancelled or lost."""


class JobWaiting(Exception):
    """Raised by a durable wait that must wait: the service ended the attempt there, and a claim
    delivers the job again once the wait is over (the handler runs again from the start; its
    completed steps, spawns and waits answer their stored results). Re-raise it if you catch
    exceptions around a wait."""

    def __init__(self, step: str, wake_at: Optional[str]):
        super().__init__(f"the job waits at step {step!r}; this attempt ends here")
        self.step = step
        self.wake_at = wake_at


class Client:
    """POST /workers/v1/<operation> with a JSON body; the answer's JSON, or ProtocolError."""

    def __init__(self, url: str, token: Optional[str], timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, operation: str, body: Dict[str, Any]) -> Dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(f"{self.url}{PREFIX}/{operation}", data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            try:
                first = json.loads(error.read().decode("utf-8"))["errors"][0]
                extensions = first.get("extensions", {})
                raise ProtocolError(error.code, extensions.get("code", "ERROR"), first["message"], extensions.get("field"), extensions) from None
            except (ValueError, KeyError, IndexError):
                raise ProtocolError(error.code, "HTTP_ERROR", str(error)) from None


class JobContext:
    """What a handler gets: the job, progress, durable steps, and its stop flag."""

    def __init__(self, worker: "Worker", job: Dict[str, Any]):
        self.worker = worker
        self.job = job
        self.id: str = job["id"]
        self.payload: Dict[str, Any] = job["payload"]
        self.attempt: int = job["attempt"]
        self.stopped = threading.Event()
        # Why it stopped: "CANCELLED", "LOST" or "SHUTDOWN".
        self.stop_reason: Optional[str] = None
        self._progress: Optional[Dict[str, Any]] = None
        self._lock = threading.Lock()
        self._steps = {step["name"]: step for step in job.get("steps", [])}
        self._used: Dict[str, int] = {}
        self._spawned = 0
        self._lines: List[Dict[str, Any]] = []
        self._chunks: List[Dict[str, Any]] = []

    def progress(self, percent: float, message: Optional[str] = None) -> None:
        """Sent with the next lease extension (the latest value wins)."""
        with self._lock:
            self._progress = {"percent": max(0.0, min(100.0, float(percent))), "message": message}

    def take_progress(self) -> Optional[Dict[str, Any]]:
        with self._lock:
            progress, self._progress = self._progress, None
            return progress

    def check(self) -> None:
        """Raises JobStopped once the job was cancelled or lost: call it between pieces of work."""
        if self.stopped.is_set():
            raise JobStopped(self.stop_reason or "stopped")

    def sleep(self, seconds: float) -> None:
        """Sleeps, waking at once if the job is stopped (then raises JobStopped)."""
        if self.stopped.wait(seconds):
            raise JobStopped(self.stop_reason or "stopped")

    def step(self, name: str, fn: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
        """A durable step: run once; a later attempt gets the stored result without running fn again."""
        stored = self._steps.get(name)
        if stored and stored["status"] == "COMPLETED":
            return stored["result"] or {}
        self.check()
        result = fn()
        answer = self.worker.client.call(
            "step", {"workerId": self.worker.worker_id, "jobId": self.id, "name": name, "status": "COMPLETED", "result": result}
        )
        if answer["state"] == "LOST":
            self.worker.stop_job(self.id, "LOST")
            self.check()
        return answer["step"]["result"] or {}

    def stop(self, reason: str) -> None:
        self.stop_reason = self.stop_reason or reason
        self.stopped.set()

    # -- the job context's calls (docs/remote-workers.md#the-job-context) -------

    def _call(self, operation: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """A context call for this job; JobStopped once the service says the worker no longer holds it."""
        self.check()
        if operation != "log":
            self.flush()
        answer = self.worker.client.call(operation, {"workerId": self.worker.worker_id, "jobId": self.id, **body})
        if answer["state"] in ("LOST", "CANCELLED"):
            self.stop(answer["state"])
            self.check()
        return answer

    def _step_name(self, step: Optional[str], base: str) -> str:
        """As ctx in Node: the nth unnamed wait of a kind is `base`, `base#2`, ... in every run."""
        if step is not None:
            return step
        n = self._used.get(base, 0) + 1
        self._used[base] = n
        return base if n == 1 else f"{base}#{n}"

    def _wait(self, step: str, body: Dict[str, Any]) -> Any:
        stored = self._steps.get(step)
        if stored and stored["status"] == "COMPLETED":
            result = stored["result"]
            return result.get("children") if body["kind"] == "waitForChildren" and result else (None if body["kind"].startswith("sleep") else result)
        answer = self._call("wait", {"step": step, **body})
        if answer["state"] == "WAITING":
            raise JobWaiting(step, answer["wakeAt"])
        return answer["result"]

    def sleep_for(self, seconds: float, step: Optional[str] = None) -> None:
        """A durable sleep: the attempt ends (JobWaiting) and the job comes back after `seconds`, holding no slot meanwhile."""
        self._wait(self._step_name(step, "sleep"), {"kind": "sleepFor", "ms": max(0, round(seconds * 1000))})

    def sleep_until(self, until: datetime, step: Optional[str] = None) -> None:
        """As sleep_for, until a timezone-aware datetime."""
        self._wait(self._step_name(step, "sleep"), {"kind": "sleepUntil", "until": until.isoformat()})

    def wait_for_event(self, name: str, match: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None,
                       step: Optional[str] = None) -> Dict[str, Any]:
        """Until sendEvent(name, data) with data containing `match`: {"outcome": "RECEIVED", "data": ...} or {"outcome": "TIMED_OUT"}."""
        body: Dict[str, Any] = {"kind": "waitForEvent", "name": name, "match": match or {}}
        if timeout is not None:
            body["timeoutMs"] = max(0, round(timeout * 1000))
        return self._wait(self._step_name(step, f"event:{name}"), body)

    def wait_for_signal(self, name: str, timeout: Optional[float] = None, step: Optional[str] = None) -> Dict[str, Any]:
        """Until signalJob(this job, name, data): as wait_for_event."""
        body: Dict[str, Any] = {"kind": "waitForSignal", "name": name}
        if timeout is not None:
            body["timeoutMs"] = max(0, round(timeout * 1000))
        return self._wait(self._step_name(step, f"signal:{name}"), body)

    def spawn(self, job_type: str, payload: Optional[Dict[str, Any]] = None, step: Optional[str] = None, **options: Any) -> str:
        """A child job (options: add_job's, e.g. maxRetries=2); durable: a later run of the step answers the same child."""
        self._spawned += 1
        name = step if step is not None else f"spawn:{self._spawned}"
        stored = self._steps.get(name)
        if stored and stored["status"] == "COMPLETED":
            return stored["result"]["childJobId"]
        return self._call("spawn", {"step": name, "jobType": job_type, "payload": payload or {}, "options": options})["childJobId"]

    def wait_for_children(self, ids: List[str], mode: str = "ALL", step: Optional[str] = None,
                          timeout: Optional[float] = None) -> Any:
        """Until ALL (or ANY) of the children finished: [{id, status, result, error}] in the order of ids.
        With a timeout (seconds): {"outcome": "FINISHED" or "TIMED_OUT", "children": [...]}."""
        body: Dict[str, Any] = {"kind": "waitForChildren", "childJobIds": ids, "mode": mode}
        if timeout is not None:
            body["timeoutMs"] = max(0, round(timeout * 1000))
        return self._wait(self._step_name(step, "children"), body)

    def log(self, message: str, level: str = "INFO", **fields: Any) -> None:
        """A line of the job's log (Job.logs, the jobLogs subscription); sent in batches with the next call, or at the end of the run."""
        with self._lock:
            self._lines.append({"level": level, "message": message, "fields": fields})
            full = len(self._lines) >= 100
        if full:
            self.flush()

    def stream(self, name: str, chunk: Any) -> None:
        """A chunk of the job's output stream `name` (the jobStream subscription); sent in batches as log lines are."""
        with self._lock:
            self._chunks.append({"stream": name, "chunk": chunk})
            full = len(self._chunks) >= 100
        if full:
            self.flush()

    def add_tags(self, *tags: str) -> List[str]:
        """Adds tags to the job (duplicates dropped, at most 20 in all); answers its tags."""
        return self._call("addTags", {"tags": list(tags)})["tags"]

    def flush(self) -> None:
        """Sends the log lines and stream chunks held back."""
        with self._lock:
            lines, self._lines = self._lines, []
            chunks, self._chunks = self._chunks, []
        if chunks:
            self._call("stream", {"chunks": chunks})
        if lines:
            self._call("log", {"lines": lines})


Handler = Callable[[JobContext], Dict[str, Any]]


class Worker:
    def __init__(
        self,
        client: Client,
        handlers: Dict[str, Handler],
        worker_id: Optional[str] = None,
        concurrency: int = 4,
        lease_seconds: int = 30,
        poll_interval: float = 0.5,
        log: Callable[..., None] = None,  # type: ignore[assignment]
        job_types: Optional[Dict[str, Dict[str, Any]]] = None,
    ):
        self.client = client
        self.handlers = handlers
        # What register tells the registry of each type (description, payloadSchema, resultSchema,
        # defaults); a type without an entry is sent by name and keeps the registration it has.
        self.job_types = job_types or {}
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"[:64]
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.log = log or log_json
        self.running: Dict[str, JobContext] = {}
        self.running_lock = threading.Lock()
        self.slot_free = threading.Event()
        self.stopping = threading.Event()
        self.peak = 0
        self.counts = {"completed": 0, "failed": 0, "cancelled": 0, "lost": 0, "interrupted": 0, "waiting": 0}

    # -- the protocol ---------------------------------------------------------

    def register(self) -> None:
        answer = self.client.call(
            "register",
            {"workerId": self.worker_id,
             "jobTypes": [{"name": name, **self.job_types[name]} if name in self.job_types else name for name in self.handlers],
             "leaseSeconds": self.lease_seconds,
             "hostname": socket.gethostname(), "pid": os.getpid()},
        )
        self.log("registered", workerId=self.worker_id, jobTypes=answer["jobTypes"], leaseSeconds=answer["leaseSeconds"],
                 concurrency=self.concurrency)

    def claim(self, limit: int) -> List[Dict[str, Any]]:
        try:
            answer = self.client.call("claim", {"workerId": self.worker_id, "jobTypes": list(self.handlers), "limit": limit})
        except ProtocolError as error:
            if error.code != "WORKER_NOT_REGISTERED":
                raise
            # Our lease passed (a long pause): what we held was released; start a new session.
            self.log("lease-passed", workerId=self.worker_id)
            self.register()
            return []
        return answer["jobs"]

    def extend(self) -> None:
        with self.running_lock:
            contexts = list(self.running.values())
        jobs = [{"jobId": ctx.id, "progress": ctx.take_progress()} for ctx in contexts]
        try:
            answer = self.client.call("extend", {"workerId": self.worker_id, "jobs": jobs})
        except ProtocolError as error:
            if error.code != "WORKER_NOT_REGISTERED":
                raise
            self.log("lease-passed", workerId=self.worker_id)
            for ctx in contexts:
                ctx.stop("LOST")
            self.register()
            return
        for state in answer["jobs"]:
            if state["state"] in ("CANCELLED", "LOST"):
                self.stop_job(state["jobId"], state["state"])

    def stop_job(self, job_id: str, reason: str) -> None:
        with self.running_lock:
            ctx = self.running.get(job_id)
        if ctx and not ctx.stopped.is_set():
            self.log("job-stopping", jobId=job_id, reason=reason, at="lease-extension")
            ctx.stop(reason)

    # -- running jobs ---------------------------------------------------------

    def run_job(self, ctx: JobContext) -> None:
        """On a pool thread; ctx is already counted in self.running."""
        if ctx.stopped.is_set():  # stopped before a thread took it: unregister gives it back
            self._forget(ctx)
            return
        self.log("job-started", jobId=ctx.id, jobType=ctx.job["jobType"], attempt=ctx.attempt, workerId=self.worker_id)
        try:
            self._run(ctx)
        except Exception as error:  # the report itself failed: the lease will return the job
            self.log("job-report-failed", jobId=ctx.id, error=repr(error))
        finally:
            self._forget(ctx)

    def _forget(self, ctx: JobContext) -> None:
        with self.running_lock:
            self.running.pop(ctx.id, None)
        self.slot_free.set()

    def _run(self, ctx: JobContext) -> None:
        handler = self.handlers[ctx.job["jobType"]]
        try:
            result = handler(ctx)
            ctx.flush()
        except JobWaiting as waiting:
            # The service ended the attempt at the wait: nothing to report; a claim brings the job back.
            self.counts["waiting"] += 1
            self.log("job-waiting", jobId=ctx.id, step=waiting.step, wakeAt=waiting.wake_at)
            return
        except JobStopped:
            # Cancelled: the service ended the job when it told us. Lost: another worker has it.
            # Shutdown: unregister gives it back to the queue.
            outcome = {"CANCELLED": "cancelled", "LOST": "lost"}.get(ctx.stop_reason or "", "interrupted")
            self.counts[outcome] += 1
            self.log(f"job-{outcome}", jobId=ctx.id)
            return
        except NonRetryableError as error:
            self._flush_quietly(ctx)
            self._fail(ctx, error, retryable=False)
            return
        except Exception as error:
            self._flush_quietly(ctx)
            self._fail(ctx, error, retryable=True)
            return
        answer = self.client.call("complete", {"workerId": self.worker_id, "jobs": [{"jobId": ctx.id, "result": result or {}}]})
        state = answer["jobs"][0]["state"]
        self.counts["completed" if state == "COMPLETED" else "lost"] += 1
        self.log("job-completed" if state == "COMPLETED" else "job-lost", jobId=ctx.id)

    def _flush_quietly(self, ctx: JobContext) -> None:
        """The log lines of a failed run still reach the job's log (a failure to send them does not hide the job's own)."""
        try:
            ctx.flush()
        except Exception as error:
            self.log("flush-failed", jobId=ctx.id, error=repr(error))

    def _fail(self, ctx: JobContext, error: Exception, retryable: bool) -> None:
        answer = self.client.call(
            "fail",
            {"workerId": self.worker_id, "jobId": ctx.id, "retryable": retryable,
             "error": {"name": type(error).__name__, "message": str(error) or type(error).__name__}},
        )
        self.counts["failed"] += 1
        self.log("job-failed", jobId=ctx.id, retryable=retryable, state=answer["state"], error=str(error))

    # -- the loops ------------------------------------------------------------

    def _lease_keeper(self) -> None:
        # A third of the lease: two extensions may fail before the lease passes.
        interval = max(0.2, self.lease_seconds / 3)
        while not self.stopping.wait(interval):
            try:
                self.extend()
            except Exception as error:  # the service away: tried again next interval
                self.log("extend-failed", error=repr(error))

    def run(self) -> None:
        self.register()
        keeper = threading.Thread(target=self._lease_keeper, name="lease-keeper", daemon=True)
        keeper.start()
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="job") as pool:
            while not self.stopping.is_set():
                with self.running_lock:
                    free = self.concurrency - len(self.running)
                if free <= 0:
                    self.slot_free.wait(self.poll_interval)
                    self.slot_free.clear()
                    continue
                try:
                    jobs = self.claim(free)
                except Exception as error:
                    self.log("claim-failed", error=repr(error))
                    self.stopping.wait(self.poll_interval)
                    continue
                for job in jobs:
                    ctx = JobContext(self, job)
                    # Counted as running before the next claim sizes itself.
                    with self.running_lock:
                        self.running[ctx.id] = ctx
                        self.peak = max(self.peak, len(self.running))
                    pool.submit(self.run_job, ctx)
                if not jobs:
                    self.stopping.wait(self.poll_interval)
            # Stopping: running handlers are told, then what is still held goes back to the queue.
            with self.running_lock:
                for ctx in self.running.values():
                    ctx.stop("SHUTDOWN")
        try:
            answer = self.client.call("unregister", {"workerId": self.worker_id})
            self.log("unregistered", workerId=self.worker_id, requeued=len(answer["requeuedJobIds"]), peakConcurrency=self.peak, **self.counts)
        except ProtocolError as error:
            self.log("unregister-failed", error=str(error))

    def stop(self) -> None:
        self.stopping.set()
        self.slot_free.set()


def log_json(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, "time": time.time(), **fields}) + "\n")
    sys.stdout.flush()


# -- the two job types this example serves -------------------------------------


def word_count(ctx: JobContext) -> Dict[str, Any]:
    """text.word_count: counts the words of payload.text."""
    text = ctx.payload.get("text", "")
    if not isinstance(text, str):
        raise NonRetryableError("payload.text must be a string")
    return {"words": len(text.split())}


def slow_task(ctx: JobContext) -> Dict[str, Any]:
    """demo.slow_task: a durable "prepare" step, then `seconds` of work reported as progress.

    payload: seconds (float), failAttempts (int: attempts that fail, default 0),
    fatal (bool: those failures are not retryable).
    """
    seconds = float(ctx.payload.get("seconds", 1))
    prepared = ctx.step("prepare", lambda: {"preparedOnAttempt": ctx.attempt})
    if ctx.attempt <= int(ctx.payload.get("failAttempts", 0)):
        message = f"attempt {ctx.attempt} failed as asked"
        if ctx.payload.get("fatal"):
            raise NonRetryableError(message)
        raise RuntimeError(message)
    slices = max(1, int(seconds / 0.1))
    for done in range(slices):
        ctx.progress(100 * done / slices, f"slice {done + 1} of {slices}")
        ctx.sleep(seconds / slices)
    return {"attempt": ctx.attempt, "preparedOnAttempt": prepared["preparedOnAttempt"], "seconds": seconds}


def report(ctx: JobContext) -> Dict[str, Any]:
    """demo.report: the job context's calls. Counts the words of payload.texts in child jobs
    (text.word_count), waits for them, streams each count, naps durably, and logs as it goes.

    payload: texts (list of strings), napSeconds (float, default 0).
    Each wait ends the attempt (JobWaiting): the job comes back by a claim when the wait is over,
    and the handler runs again from the start, its steps, spawns and waits answering stored results.
    """
    texts = ctx.payload.get("texts", [])
    ctx.add_tags("report", f"texts:{len(texts)}")
    ctx.step("started", lambda: (ctx.log("report started", texts=len(texts)), {})[1])
    ids = [ctx.spawn("text.word_count", {"text": text}, step=f"count:{n}") for n, text in enumerate(texts)]
    children = ctx.wait_for_children(ids, step="counts")
    words = [child["result"]["words"] for child in children]

    def publish() -> Dict[str, Any]:
        for n, count in enumerate(words):
            ctx.stream("counts", {"text": n, "words": count})
        ctx.log("counts published", total=sum(words))
        return {}

    ctx.step("publish", publish)
    ctx.sleep_for(float(ctx.payload.get("napSeconds", 0)), step="nap")
    ctx.log("report done after its nap", level="INFO", total=sum(words))
    return {"words": sum(words), "counts": words}


HANDLERS: Dict[str, Handler] = {"text.word_count": word_count, "demo.slow_task": slow_task, "demo.report": report}

# Sent at register: the service checks payloads against these JSON Schemas
# (draft 2020-12) before a job is created, and lists them in `jobTypes`.
JOB_TYPES: Dict[str, Dict[str, Any]] = {
    "text.word_count": {
        "description": "Counts the words of payload.text (example Python worker).",
        "payloadSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        "resultSchema": {"type": "object", "properties": {"words": {"type": "integer", "minimum": 0}}, "required": ["words"]},
    },
    "demo.slow_task": {
        "description": "A durable step prepare, then `seconds` of work reported as progress (example Python worker).",
        "payloadSchema": {
            "type": "object",
            "properties": {
                "seconds": {"type": "number", "minimum": 0, "maximum": 600},
                "failAttempts": {"type": "integer", "minimum": 0},
                "fatal": {"type": "boolean"},
            },
            "required": ["seconds"],
        },
        "resultSchema": {
            "type": "object",
            "properties": {"attempt": {"type": "integer"}, "preparedOnAttempt": {"type": "integer"}, "seconds": {"type": "number"}},
        },
    },
    "demo.report": {
        "description": "Counts words in child jobs, streams the counts, naps durably (example Python worker: the job context).",
        "payloadSchema": {
            "type": "object",
            "properties": {
                "texts": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
                "napSeconds": {"type": "number", "minimum": 0, "maximum": 3600},
            },
            "required": ["texts"],
        },
    },
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="A jobwire worker in Python (standard library only).")
    parser.add_argument("--url", default=os.environ.get("JOBWIRE_URL", "http://127.0.0.1:4000"),
                        help="the service's base URL (JOBWIRE_URL)")
    parser.add_argument("--token", default=os.environ.get("JOBWIRE_TOKEN"),
                        help="an API key with the scope worker (JOBWIRE_TOKEN); none when the service runs without auth")
    parser.add_argument("--worker-id", default=os.environ.get("JOBWIRE_WORKER_ID"), help="default: <host>-<pid>-<random>")
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("JOBWIRE_CONCURRENCY", "4")))
    parser.add_argument("--lease-seconds", type=int, default=int(os.environ.get("JOBWIRE_LEASE_SECONDS", "30")))
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between claims when nothing is due")
    parser.add_argument("--job-types", default=",".join(HANDLERS), help="comma-separated subset of the types served")
    args = parser.parse_args(argv)
    names = [name for name in args.job_types.split(",") if name]
    unknown = [name for name in names if name not in HANDLERS]
    if unknown:
        parser.error(f"unknown job types: {', '.join(unknown)} (this worker serves {', '.join(HANDLERS)})")
    worker = Worker(
        Client(args.url, args.token),
        {name: HANDLERS[name] for name in names},
        worker_id=args.worker_id,
        concurrency=args.concurrency,
        lease_seconds=args.lease_seconds,
        poll_interval=args.poll_interval,
        job_types={name: JOB_TYPES[name] for name in names},
    )
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    try:
        worker.run()
    except ProtocolError as error:
        log_json("fatal", status=error.status, code=error.code, error=str(error))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
