"""A bounded load run against a nerwin server: ``clients`` threads post mixed short and long
texts, and some malformed requests, for a number of seconds; every answer is checked.

A good request must get 200 and entities whose offsets pick their own text out of the text
that request sent (each text starts with a request number, so answers mixed up between
requests cannot pass); a malformed one must get its 4xx. Used by ``nerwin bench`` (requests
per second, latency percentiles, the server's memory over the run) and, briefly, by the tests.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

SHORT = [
    "Angela Merkel met Emmanuel Macron in Paris.",
    "Shares of Toyota rose 2 percent in Tokyo on Monday.",
    "José Mourinho left Chelsea for Real Madrid.",
    "The Nile flows through Egypt and Sudan 😀 before reaching the sea.",
    "<script>alert(1)</script> Berlin & Brussels",
    "",
]
LONG = (
    "GENEVA, March 14 - Delegates from forty-two countries gathered at the Palais des Nations on Thursday "
    "for talks on fishing rights in the North Atlantic, after negotiations in Reykjavik collapsed last autumn. "
    "Norway's chief negotiator, Ingrid Haugland, told reporters that her government would not accept quotas "
    "drawn up by the European Commission without an independent survey of cod stocks. The Icelandic "
    "delegation, led by Gudmundur Thorsteinsson, arrived late after a snowstorm closed Keflavik airport. "
    "Analysts at Rabobank and Nordea expect the talks to drag on into the summer.\n\n"
)


def _malformed(max_bytes: int) -> list[tuple[str, str, str | None, bytes, int]]:
    """(method, path, content type, body, the status it must get)."""
    return [
        ("POST", "/ner", "application/json", b'{"text": "Paris', 400),
        ("POST", "/ner", "application/json", b'{"txt": "Paris"}', 400),
        ("POST", "/ner", "application/json", b'{"texts": ["a", 3]}', 400),
        ("POST", "/ner", "application/json", b"[" * 5000, 400),
        ("POST", "/ner", "application/xml", b"<text>Paris</text>", 415),
        ("POST", "/ner", "text/plain", b"\xff\xfe Paris", 400),
        ("POST", "/ner", "text/plain", b"x" * (max_bytes + 1), 413),
        ("GET", "/ner", None, b"", 405),
        ("GET", "/../../etc/passwd", None, b"", 404),
    ]


def check(texts: list[str], answer: dict) -> str | None:
    """What is wrong with a 200 answer to ``texts`` (None: nothing)."""
    results = [answer] if "entities" in answer else answer.get("results")
    if not isinstance(results, list) or len(results) != len(texts):
        return f"expected {len(texts)} results, got {answer!r:.200}"
    for text, result in zip(texts, results):
        for e in result["entities"]:
            if text[e["start"]:e["end"]] != e["text"] or not e["text"]:
                return f"entity {e!r:.200} does not match its text {text!r:.80}"
    return None


class Client(threading.Thread):
    """Sends requests until ``deadline``; keeps each one's latency, status and any problem."""

    def __init__(self, host: str, port: int, deadline: float, seed: int, max_bytes: int, bad_share: float):
        super().__init__(daemon=True)
        self.host, self.port, self.deadline, self.bad_share = host, port, deadline, bad_share
        self.rng, self.malformed = random.Random(seed), _malformed(max_bytes)
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.problems: list[str] = []
        self.number = seed * 1_000_000

    def request(self, method, path, content_type, body) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body or None,
                         headers={"Content-Type": content_type} if content_type else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def run(self):
        while time.monotonic() < self.deadline:
            self.number += 1
            start = time.perf_counter()
            try:
                if self.rng.random() < self.bad_share:
                    method, path, kind, body, want = self.rng.choice(self.malformed)
                    status, data = self.request(method, path, kind, body)
                    problem = None if status == want and "error" in json.loads(data) else \
                        f"{method} {path} {kind}: got {status}, expected {want}"
                else:
                    n = self.rng.choice([1, 1, 1, 3])
                    texts = [f"Request {self.number}.{i}: " + (LONG * self.rng.randint(1, 4) if self.rng.random() < 0.3
                                                               else self.rng.choice(SHORT)) for i in range(n)]
                    payload = {"text": texts[0]} if n == 1 else {"texts": texts}
                    status, data = self.request("POST", "/ner", "application/json", json.dumps(payload).encode())
                    problem = check(texts, json.loads(data)) if status == 200 else f"POST /ner: got {status}"
            except (OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as e:
                status, problem = 0, f"{type(e).__name__}: {e}"
            self.latencies.append(time.perf_counter() - start)
            self.statuses[status] += 1
            if problem:
                self.problems.append(problem)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def run(host: str, port: int, clients: int = 8, seconds: float = 20.0, max_bytes: int = 1 << 20,
        bad_share: float = 0.1, pid: int | None = None) -> dict:
    """Load a server for ``seconds``; requests/s, latency percentiles (ms), statuses, problems,
    and the server's resident memory (MB) sampled each half second if its ``pid`` is given."""
    deadline = time.monotonic() + seconds
    workers = [Client(host, port, deadline, seed, max_bytes, bad_share) for seed in range(1, clients + 1)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    rss = []
    while any(w.is_alive() for w in workers):
        if pid is not None and (mb := _rss_mb(pid)) is not None:
            rss.append(mb)
        time.sleep(0.5)
    elapsed = time.perf_counter() - start
    latencies = sorted(x for w in workers for x in w.latencies)
    statuses = sum((w.statuses for w in workers), Counter())
    problems = [p for w in workers for p in w.problems]
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"clients": clients, "seconds": elapsed, "requests": len(latencies),
            "requests_per_s": len(latencies) / elapsed, "p50_ms": q[49] * 1e3, "p95_ms": q[94] * 1e3,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}, "problems": problems[:20],
            "n_problems": len(problems), "rss_mb": rss}


def serve_and_load(model, clients: int = 8, seconds: float = 20.0, threads: int = 8,
                   max_bytes: int = 65536) -> dict:
    """Start ``nerwin serve`` on a free loopback port, load it (:func:`run`), stop it with
    SIGTERM; adds the server's exit status and its memory at the start and end of the run."""
    cmd = [sys.executable, "-m", "nerwin", "serve", "--model", str(model), "--port", "0", "--quiet",
           "--threads", str(threads), "--max-bytes", str(max_bytes)]
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    log: list[str] = []
    try:
        line = server.stderr.readline()
        if "serving on http://" not in line:
            raise RuntimeError(f"nerwin serve did not start: {line}{server.stderr.read()}")
        threading.Thread(target=lambda: log.extend(server.stderr), daemon=True).start()   # never a full pipe
        port = int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        result = run("127.0.0.1", port, clients, seconds, max_bytes, pid=server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    result["exit_status"], result["server_log"] = server.returncode, log[-20:]
    rss = result["rss_mb"]   # the first quarter of the run is warming up (thread arenas, caches)
    quarter = max(len(rss) // 4, 1)
    result["rss_start_mb"] = statistics.median(rss[quarter:2 * quarter]) if len(rss) > 1 else float("nan")
    result["rss_end_mb"] = statistics.median(rss[-quarter:]) if len(rss) > 1 else float("nan")
    return result
