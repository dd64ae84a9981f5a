"""The tagger over HTTP: a WSGI application, and the threaded standard-library server of
``nerwin serve``.

``app(model)`` is a standard WSGI application, so any WSGI server can host it
(``gunicorn 'nerwin.serve:app()'``, ``waitress-serve --call nerwin.serve:app``). Endpoints:

- ``POST /ner``: a JSON body ``{"text": "..."}`` gives ``{"entities": [...]}``; ``{"texts":
  ["...", ...]}`` gives ``{"results": [{"entities": [...]}, ...]}``, one per text, in order; a
  ``text/plain`` body is one text. Entities have the fields of ``predict --format jsonl``;
  offsets count code points of the text sent.
- ``GET /health``, ``GET /model`` (entity types, the model card's scores, the nerwin version),
  ``GET /`` a page to try the tagger (with ``/static/app.js``, ``app.css``, ``favicon.svg``).

Every answer is JSON but the page's; an error is ``{"error": "..."}`` with its status: 400
malformed JSON or fields, 404, 405 (with ``Allow``), 408 a body too slow to arrive, 411, 413
a body over ``max_bytes``, 415 another content type, 500 (logged, never a traceback sent).
No file is ever named by a request: the page's four files are read once, at start.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import BaseServer
from typing import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import nerwin
from nerwin.predict import Entity, Predictor
from nerwin.tagger import DEFAULT_MODEL, Tagger, model_file
from nerwin.writers import entity_json

MAX_BYTES = 1 << 20          # request body limit (bytes) unless told otherwise
BODY_SECONDS = 30.0          # the whole body must arrive within this
SOCKET_TIMEOUT = 15.0        # seconds a connection may stay silent
LINGER_SECONDS = 2.0         # the most spent reading what a client sends after its answer
STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
         "/static/app.css": ("app.css", "text/css; charset=utf-8"),
         "/static/favicon.svg": ("favicon.svg", "image/svg+xml")}
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
]
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           408: "Request Timeout", 411: "Length Required", 413: "Content Too Large",
           415: "Unsupported Media Type", 500: "Internal Server Error"}


class HTTPError(Exception):
    """An answer other than 200: its status, message and extra headers."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] = ()):
        super().__init__(message)
        self.status, self.headers = status, list(headers)


class NerApp:
    """The WSGI application of one :class:`~nerwin.predict.Predictor`; see the module."""

    def __init__(self, predictor: Predictor, model_info: dict, max_bytes: int = MAX_BYTES):
        self.predictor, self.max_bytes = predictor, max_bytes
        self._model = _json_bytes(model_info)
        self._pages = {route: ((STATIC / name).read_bytes(), kind) for route, (name, kind) in PAGES.items()}
        predictor("Warm up.")   # loads the pretrained vectors now, not during a first request

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        try:
            status, headers, body = self.route(environ)
        except HTTPError as e:
            status, headers, body = e.status, e.headers, _json_bytes({"error": str(e)})
        except Exception:   # a bug: logged for the operator, a plain 500 for the client
            traceback.print_exc(file=environ.get("wsgi.errors", sys.stderr))
            status, headers, body = 500, [], _json_bytes({"error": "internal error"})
        if not any(k == "Content-Type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers += [("Content-Length", str(len(body))), ("Cache-Control", "no-store"), *SECURITY_HEADERS]
        start_response(f"{status} {REASONS[status]}", headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def route(self, environ: dict) -> tuple[int, list, bytes]:
        path, method = environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD", "GET")
        allowed = "POST" if path == "/ner" else "GET, HEAD"
        if path not in PAGES and path not in ("/ner", "/health", "/model"):
            raise HTTPError(404, "no such endpoint; try POST /ner, GET /health, GET /model or GET /")
        if method not in allowed.split(", "):
            raise HTTPError(405, f"{path} takes {allowed}, not {method[:20]}", [("Allow", allowed)])
        if path == "/ner":
            return 200, [], self.ner(environ)
        if path == "/health":
            return 200, [], b'{"status": "ok"}'
        if path == "/model":
            return 200, [], self._model
        body, kind = self._pages[path]
        return 200, [("Content-Type", kind)], body

    def ner(self, environ: dict) -> bytes:
        kind, _, params = (environ.get("CONTENT_TYPE") or "").partition(";")
        kind = kind.strip().lower()
        if kind not in ("application/json", "text/plain"):
            raise HTTPError(415, "send application/json ({\"text\": ...} or {\"texts\": [...]}) or text/plain")
        charset = params.strip().lower().removeprefix("charset=").strip('"') if "charset=" in params.lower() else "utf-8"
        if charset not in ("utf-8", "utf8"):
            raise HTTPError(415, f"send UTF-8 text, not {charset[:20]}")
        try:
            text = self.body(environ).decode("utf-8")
        except UnicodeDecodeError as e:
            raise HTTPError(400, f"the body is not valid UTF-8 (byte {e.start})") from None
        if kind == "text/plain":
            return b'{"entities": ' + _entities_json(self.predictor(text)) + b"}"
        texts, single = parse_request(text)
        results = [_entities_json(found) for found in self.predictor.pipe(texts)]
        if single:
            return b'{"entities": ' + results[0] + b"}"
        return b'{"results": [' + b", ".join(b'{"entities": ' + r + b"}" for r in results) + b"]}"

    def body(self, environ: dict) -> bytes:
        """The request body: at most ``max_bytes`` (413 beyond), all of it within
        :data:`BODY_SECONDS` (408 otherwise)."""
        stream, length = environ["wsgi.input"], environ.get("CONTENT_LENGTH") or ""
        if length.strip():
            if not length.strip().isdigit():
                raise HTTPError(400, "Content-Length is not a number")
            length = int(length)
            if length > self.max_bytes:
                raise HTTPError(413, f"the body is {length} bytes; this server takes at most {self.max_bytes}")
        elif environ.get("wsgi.input_terminated"):   # chunked, the server de-chunks: read to the end
            length = None
        else:
            raise HTTPError(411, "send a Content-Length header")
        pieces, got, deadline = [], 0, time.monotonic() + BODY_SECONDS
        try:
            while length is None or got < length:
                want = 1 << 16 if length is None else min(1 << 16, length - got)
                piece = stream.read(want)
                if not piece:
                    break
                pieces.append(piece)
                got += len(piece)
                if got > self.max_bytes:
                    raise HTTPError(413, f"the body is over {self.max_bytes} bytes, the most this server takes")
                if time.monotonic() > deadline:
                    raise HTTPError(408, f"the body took over {BODY_SECONDS:.0f} s to arrive")
        except OSError:   # the client went silent (socket timeout) or away
            raise HTTPError(408, "the body did not arrive") from None
        if length is not None and got < length:
            raise HTTPError(400, f"the body ended after {got} of the {length} bytes Content-Length promised")
        return b"".join(pieces)


def parse_request(text: str) -> tuple[list[str], bool]:
    """The texts of a JSON request body, and whether it held one ``text`` (not ``texts``);
    :class:`HTTPError` 400 for anything else."""
    try:
        request = json.loads(text)
    except ValueError as e:
        raise HTTPError(400, f"malformed JSON: {str(e)[:200]}") from None
    except RecursionError:
        raise HTTPError(400, "malformed JSON: nested too deeply") from None
    if not isinstance(request, dict):
        raise HTTPError(400, 'expected a JSON object: {"text": "..."} or {"texts": ["...", ...]}')
    unknown = sorted(set(request) - {"text", "texts"})
    if unknown:
        raise HTTPError(400, f"unknown field {json.dumps(unknown[0][:40])}; expected \"text\" or \"texts\"")
    if len(request) != 1:
        raise HTTPError(400, 'expected one of "text" or "texts", not both' if request else
                        'expected a field "text" (a string) or "texts" (a list of strings)')
    if "text" in request:
        if not isinstance(request["text"], str):
            raise HTTPError(400, f'"text" must be a string, not {_json_kind(request["text"])}')
        return [request["text"]], True
    texts = request["texts"]
    if not isinstance(texts, list):
        raise HTTPError(400, f'"texts" must be a list of strings, not {_json_kind(texts)}')
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise HTTPError(400, f'"texts"[{i}] must be a string, not {_json_kind(t)}')
    return texts, False


def _json_kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}[type(value)]


def _entities_json(entities: list[Entity]) -> bytes:
    """A JSON list of entities as ``predict --format jsonl`` writes them. A lone surrogate
    (sent as ``\\ud800`` in JSON) stays one: written back as the same escape."""
    return ("[" + ", ".join(map(entity_json, entities)) + "]").encode("utf-8", "backslashreplace")


def _json_bytes(value) -> bytes:
    return json.dumps(value).encode("ascii")


def model_info(path: Path, predictor: Predictor) -> dict:
    """What ``GET /model`` says: the model file's name, its entity types, the scores (and the
    input it expects) of the model card beside it (``en.json`` next to ``en.npz``) if there is
    one, the version."""
    info = {"model": path.name, "labels": predictor.labels, "nerwin": nerwin.__version__, "card": None}
    try:
        card = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        info["card"] = {"splits": card["splits"], **({"input": card["input"]} if "input" in card else {})}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return info


def app(model=None, max_bytes: int = MAX_BYTES) -> NerApp:
    """The WSGI application of a shipped model by name (default ``"en"``, English), a model
    file or a run folder; ``max_bytes`` bounds a request body."""
    with model_file(DEFAULT_MODEL if model is None else model) as path:
        predictor = Predictor(Tagger.load(path))
        info = model_info(path, predictor)
    return NerApp(predictor, info, max_bytes)


# ---------------------------------------------------------------- the server of `nerwin serve`


class _Handler(WSGIRequestHandler):
    """wsgiref's handler with a socket timeout, JSON errors of its own (a bad request line,
    headers too long) and, if ``quiet``, no access log."""

    timeout = SOCKET_TIMEOUT
    quiet = False

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)

    def send_error(self, code, message=None, explain=None):
        self.log_error("code %d, message %s", code, message)
        body = _json_bytes({"error": message or self.responses.get(code, ("error",))[0]})
        self.send_response(code)
        for k, v in [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                     ("Connection", "close"), *SECURITY_HEADERS]:
            self.send_header(k, v)
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)
        self.close_connection = True


class PoolServer(WSGIServer):
    """wsgiref's server handing each connection to one of ``threads`` worker threads. When all
    are busy, accepting waits (new connections queue in the listen backlog), so a flood of
    clients never means more threads or unbounded memory."""

    request_queue_size = 128   # connections waiting for a thread (socketserver's default is 5)

    def __init__(self, address, threads: int, quiet: bool = False):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._slots = threading.BoundedSemaphore(threads)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="nerwin-serve")
        super().__init__(address, type("Handler", (_Handler,), {"quiet": quiet}))   # closes itself if binding fails

    def process_request(self, request, client_address):
        self._slots.acquire()
        try:
            self._pool.submit(self._work, request, client_address)
        except RuntimeError:   # shutting down
            self._slots.release()
            self.shutdown_request(request)

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def shutdown_request(self, request):
        """Close a connection gracefully: the answer first; then, if the client is still
        sending (a body refused with 413), read on for a short while, since closing with
        unread data resets the connection, which can lose the answer before it is read."""
        try:
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            pending = request.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            while pending and (left := deadline - time.monotonic()) > 0:
                request.settimeout(left)
                pending = request.recv(1 << 16)
        except OSError:   # nothing pending (would block), or the client is gone
            pass
        self.close_request(request)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):   # a client gone is no error
            super().handle_error(request, client_address)

    def server_close(self):
        """Stop listening, then wait for the requests in flight to finish."""
        super().server_close()
        self._pool.shutdown(wait=True)


def make_server(application, host: str = "127.0.0.1", port: int = 8080, threads: int = 8,
                quiet: bool = False) -> PoolServer:
    """A :class:`PoolServer` listening on ``host:port`` (port 0: any free port)."""
    server = PoolServer((host, port), threads, quiet)
    server.set_app(application)
    return server


def serve_until_stopped(server: BaseServer) -> None:
    """Serve until SIGTERM or SIGINT (Ctrl-C), then finish the requests in flight and return."""
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()   # shutdown() waits for the loop
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever()
    finally:
        server.server_close()
        for s, handler in previous.items():
            signal.signal(s, handler)
