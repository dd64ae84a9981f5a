"""The WSGI app and ``nerwin serve``: the same entities as ``predict --format jsonl``, the
right 4xx and a JSON error for every bad request, never a traceback, a safe page, a bounded
server that survives slow clients and stops cleanly on SIGTERM, and correct answers under a
short concurrent load."""

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from nerwin import loadtest
from nerwin import serve as S
from nerwin.predict import tag_documents
from nerwin.segment import text_chunks
from nerwin.writers import JsonlWriter, Output
from nerwin.tagger import SHIPPED_MODELS

TEXT = "Angela Merkel met Emmanuel Macron in Paris. 😀 Then Barack Obama flew to Berlin with IBM staff."


@pytest.fixture(scope="module")
def application():
    return S.app()


def call(app, method="GET", path="/", body=b"", content_type=None, **environ):
    """One request through the WSGI interface: (status, headers, body)."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
           "CONTENT_LENGTH": str(len(body)), "wsgi.errors": io.StringIO(), **environ}
    if content_type:
        env["CONTENT_TYPE"] = content_type
    got = {}

    def start_response(status, headers):
        got["status"], got["headers"] = int(status.split()[0]), dict(headers)

    out = b"".join(app(env, start_response))
    return got["status"], got["headers"], out


def post_json(app, payload):
    status, headers, body = call(app, "POST", "/ner", json.dumps(payload).encode(), "application/json")
    return status, json.loads(body)


def jsonl_entities(app, texts):
    """The entities ``nerwin predict --format jsonl`` writes for each text."""
    out = io.BytesIO()
    writer = JsonlWriter(Output(out, "memory"), app.predictor.labels, [None] * len(texts))
    writer.write(tag_documents(app.predictor.tagger, [text_chunks(t) for t in texts]))
    found = [[] for _ in texts]
    for line in out.getvalue().decode().splitlines():
        record = json.loads(line)
        found[record["doc"]] += record["entities"]
    return found


# ---------------------------------------------------------------- answers


def test_one_text_gets_the_entities_predict_jsonl_writes(application):
    status, answer = post_json(application, {"text": TEXT})
    assert status == 200
    assert answer == {"entities": jsonl_entities(application, [TEXT])[0]}
    assert {e["label"] for e in answer["entities"]} >= {"PER", "LOC"}
    for e in answer["entities"]:
        assert TEXT[e["start"]:e["end"]] == e["text"]


def test_many_texts_get_one_result_each_in_order(application):
    texts = ["Paris is lovely.", "", TEXT, "IBM and Apple.\n\nMerkel spoke."]
    status, answer = post_json(application, {"texts": texts})
    assert status == 200
    assert answer == {"results": [{"entities": e} for e in jsonl_entities(application, texts)]}
    assert post_json(application, {"texts": []}) == (200, {"results": []})


def test_a_plain_text_body_is_one_text(application):
    status, headers, body = call(application, "POST", "/ner", TEXT.encode(), "text/plain; charset=utf-8")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == post_json(application, {"text": TEXT})[1]


def test_a_lone_surrogate_comes_back_as_sent(application):
    text = "a\ud800b Paris and London."
    status, body = call(application, "POST", "/ner", json.dumps({"text": text}).encode(), "application/json")[::2]
    answer = json.loads(body)   # valid JSON, the surrogate as an escape wherever an entity holds it
    assert status == 200 and {"Paris", "London"} <= {e["text"] for e in answer["entities"]}
    assert all(text[e["start"]:e["end"]] == e["text"] for e in answer["entities"])


def test_health_and_model(application):
    assert call(application, path="/health")[::2] == (200, b'{"status": "ok"}')
    status, _, body = call(application, path="/model")
    info = json.loads(body)
    assert info["labels"] == application.predictor.labels and info["nerwin"]
    assert info["model"] == "en.npz"
    card = json.loads((SHIPPED_MODELS / "en.json").read_text())
    assert info["card"] == {"splits": card["splits"], "input": card["input"]} and "config" not in info["card"]


def test_a_model_without_a_card(sample_run):
    info = json.loads(call(S.app(sample_run), path="/model")[2])
    assert info["card"] is None and info["model"] == "model.npz"


# ---------------------------------------------------------------- refusals


BAD = [
    ("POST", "/ner", "application/json", b'{"text": "Paris', 400, "malformed JSON"),
    ("POST", "/ner", "application/json", b"", 400, "malformed JSON"),
    ("POST", "/ner", "application/json", b"[" * 100_000, 400, "nested too deeply"),
    ("POST", "/ner", "application/json", b'["Paris"]', 400, "expected a JSON object"),
    ("POST", "/ner", "application/json", b"{}", 400, '"text"'),
    ("POST", "/ner", "application/json", b'{"text": "a", "texts": ["b"]}', 400, "not both"),
    ("POST", "/ner", "application/json", b'{"txt": "a"}', 400, 'unknown field "txt"'),
    ("POST", "/ner", "application/json", b'{"text": null}', 400, "not null"),
    ("POST", "/ner", "application/json", b'{"texts": "a"}', 400, "must be a list of strings, not a string"),
    ("POST", "/ner", "application/json", b'{"texts": ["a", {"x": 1}]}', 400, '"texts"[1] must be a string'),
    ("POST", "/ner", "application/json", b'{"text": "caf\xe9"}', 400, "not valid UTF-8"),
    ("POST", "/ner", "application/json; charset=latin-1", b'{"text": "a"}', 415, "UTF-8"),
    ("POST", "/ner", "application/xml", b"<text>a</text>", 415, "application/json"),
    ("POST", "/ner", "multipart/form-data; boundary=x", b"--x--", 415, "application/json"),
    ("POST", "/ner", None, b'{"text": "a"}', 415, "application/json"),
    ("GET", "/ner", None, b"", 405, "POST"),
    ("PUT", "/ner", "application/json", b'{"text": "a"}', 405, "POST"),
    ("POST", "/health", "application/json", b"{}", 405, "GET"),
    ("DELETE", "/", None, b"", 405, "GET"),
    ("GET", "/nope", None, b"", 404, "no such endpoint"),
    ("GET", "/static/../serve.py", None, b"", 404, "no such endpoint"),
    ("GET", "/static/index.html", None, b"", 404, "no such endpoint"),
    ("GET", "//etc/passwd", None, b"", 404, "no such endpoint"),
]


@pytest.mark.parametrize("method, path, kind, body, status, message", BAD)
def test_bad_requests_get_their_status_and_a_json_error(application, method, path, kind, body, status, message):
    got, headers, out = call(application, method, path, body, kind)
    assert got == status
    error = json.loads(out)["error"]
    assert message in error and "\n" not in error and "Traceback" not in error
    assert headers["Content-Type"] == "application/json" and "Content-Security-Policy" in headers
    if status == 405:
        assert headers["Allow"] in ("POST", "GET, HEAD")


def test_body_limits(application):
    small = S.NerApp(application.predictor, {}, max_bytes=20)
    ok = call(small, "POST", "/ner", b'{"text": "Paris"}', "application/json")
    assert ok[0] == 200
    too_big = call(small, "POST", "/ner", b'{"text": "Paris is big"}', "application/json")
    assert too_big[0] == 413 and "at most 20" in json.loads(too_big[2])["error"]
    unsaid = call(small, "POST", "/ner", b'{"text": "Paris"}', "application/json", CONTENT_LENGTH="")
    assert unsaid[0] == 411
    chunked = call(small, "POST", "/ner", b'{"text": "Paris is too big"}', "application/json",
                   CONTENT_LENGTH="", **{"wsgi.input_terminated": True})
    assert chunked[0] == 413
    assert call(small, "POST", "/ner", b"{}", "application/json", CONTENT_LENGTH="-1")[0] == 400
    short = call(small, "POST", "/ner", b'{"te', "application/json", CONTENT_LENGTH="10")
    assert short[0] == 400 and "ended after 4 of the 10 bytes" in json.loads(short[2])["error"]


class Broken:
    """A predictor that fails after warming up, as a bug would."""

    labels = ["X"]
    calls = 0

    def __call__(self, text):
        self.calls += 1
        if self.calls > 1:
            raise ZeroDivisionError("a bug")
        return []

    def pipe(self, texts):
        raise ZeroDivisionError("a bug")


def test_a_bug_is_a_500_without_a_traceback():
    app = S.NerApp(Broken(), {"labels": ["X"]})
    errors = io.StringIO()
    status, _, body = call(app, "POST", "/ner", b'{"text": "a"}', "application/json", **{"wsgi.errors": errors})
    assert status == 500 and json.loads(body) == {"error": "internal error"}
    assert "ZeroDivisionError" in errors.getvalue()   # the operator's log has it, the client does not
    assert call(app, path="/health")[0] == 200        # and the app goes on


# ---------------------------------------------------------------- the page


def test_page_and_its_files(application):
    status, headers, page = call(application, path="/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    html = page.decode()
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']   # no inline script
    assert "style=" not in html and "<style" not in html and " on" not in html.lower().replace("one ", "")
    for route, kind in (("/static/app.js", "text/javascript"), ("/static/app.css", "text/css")):
        status, headers, body = call(application, path=route)
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    for name in ("index.html", "app.js", "app.css"):
        text = (S.STATIC / name).read_text()
        assert "http://" not in text and "https://" not in text and "//" + "cdn" not in text   # nothing external
    assert "innerHTML" not in (S.STATIC / "app.js").read_text()
    assert call(application, "HEAD", "/")[2] == b""


# ---------------------------------------------------------------- the server


def start(cmd, **kw):
    """Start ``nerwin serve ... --port 0``; return the process and its port."""
    proc = subprocess.Popen([sys.executable, "-m", "nerwin", "serve", "--port", "0", *cmd], stderr=subprocess.PIPE,
                            text=True, **kw)
    line = proc.stderr.readline()
    assert "serving on http://127.0.0.1:" in line, line + proc.stderr.read()
    return proc, int(line.split("127.0.0.1:")[1].split("/")[0])


def raw(port, data: bytes, timeout=30) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


def test_sigterm_finishes_the_request_in_flight_and_exits_0():
    proc, port = start(["--quiet"])
    try:
        body = json.dumps({"text": TEXT}).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"POST /ner HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.5)                      # the request is in flight, its body half sent
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            s.sendall(body[10:])
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.0 200 ") and b'"entities": [{"start": 0' in answer
        assert proc.wait(timeout=30) == 0
        assert "nerwin: stopped" in proc.stderr.read()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()   # no longer listening
    finally:
        proc.kill()
        proc.wait()


def test_a_silent_client_is_dropped_and_frees_its_thread(application, monkeypatch):
    monkeypatch.setattr(S._Handler, "timeout", 0.5)
    server = S.make_server(application, port=0, threads=1, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            silent.sendall(b"POST /ner HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nPar")
            start_wait = time.monotonic()
            answer = silent.recv(65536)   # the server gives up on the body and answers
            assert time.monotonic() - start_wait < 8
        assert answer.startswith(b"HTTP/1.0 408 ")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:   # sends nothing at all
            assert idle.recv(10) == b""
        # the only thread is free again
        assert raw(port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.0 200 ")
    finally:
        server.shutdown()
        server.server_close()


def test_server_errors_of_its_own_are_json(application):
    server = S.make_server(application, port=0, threads=2, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        for request, status in ((b"GET / HTTP/1.1 x\r\n\r\n", None), (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
                                (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", b"431")):
            answer = raw(port, request)
            if status is None:   # not HTTP/1.x: answered as HTTP/0.9, a body alone
                assert "error" in json.loads(answer)
                continue
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.split()[1] == status and b"application/json" in head and "error" in json.loads(body)
        # a body far over the limit gets its 413, not a reset connection
        big = b"x" * (3 << 20)
        answer = raw(port, b"POST /ner HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
        assert answer.startswith(b"HTTP/1.0 413 ")
    finally:
        server.shutdown()
        server.server_close()


def test_the_port_in_use_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        out = subprocess.run([sys.executable, "-m", "nerwin", "serve", "--port", str(s.getsockname()[1])],
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.startswith("nerwin: error: cannot listen on 127.0.0.1:") and "Traceback" not in out.stderr


def test_a_short_load_gets_every_answer_right():
    result = loadtest.serve_and_load("en", clients=4, seconds=3, threads=3, max_bytes=65536)
    assert result["n_problems"] == 0, result["problems"]
    assert result["exit_status"] == 0
    assert result["statuses"].get("200", 0) > 10
    assert not any(s.startswith("5") or s == "0" for s in result["statuses"])
    assert set(result["statuses"]) - {"200"}   # some malformed requests were sent, and refused


def test_the_load_check_catches_mixed_up_answers():
    texts = ["Request 1: Paris", "Request 22: Paris"]
    right = {"results": [{"entities": [{"start": 11, "end": 16, "text": "Paris"}]},
                         {"entities": [{"start": 12, "end": 17, "text": "Paris"}]}]}
    assert loadtest.check(texts, right) is None
    swapped = {"results": right["results"][::-1]}
    assert "does not match" in loadtest.check(texts, swapped)
    assert "expected 2 results" in loadtest.check(texts, {"entities": []})
