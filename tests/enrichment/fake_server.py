"""A threaded HTTP server on 127.0.0.1 that plays a provider API in tests and benchmarks.

Each route maps a method and path to one response, a sequence of responses (served in
order, the last one repeating) or a function of the request. Responses set the status,
headers, body, a delay before the status line and an optional slow body (``chunk_delay``).
The server records every request with its monotonic and wall-clock arrival time, so tests
can count requests and check the spacing between them.

    with FakeServer() as server:
        server.route("GET", "/v2/companies/find", FakeResponse(json={"name": "Acme"}))
        requests.get(server.url + "/v2/companies/find?domain=acme.com")
        assert server.count("/v2/companies/find") == 1

The module needs only the standard library, so benchmarks can import it without pytest.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class QuietHTTPServer(ThreadingHTTPServer):
    """A server that drops connections its clients close early, without a traceback.

    Tests close connections on purpose, such as a client that rejects the address it
    connected to.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


RouteHandler = Callable[["RecordedRequest"], "FakeResponse"]


@dataclass
class FakeResponse:
    """One configured response.

    ``json`` is serialized with ``Content-Type: application/json``; otherwise ``body`` is
    sent as is (text is UTF-8 encoded). ``delay`` is the wait in seconds before the status
    line is sent. With ``chunk_delay`` set, the body is sent in pieces of ``chunk_size``
    bytes with that many seconds between pieces. ``repeat_body`` sends the body that many
    times, which makes large responses without building them in memory first.
    """

    status: int = 200
    json: Any = None
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 1024
    repeat_body: int = 1
    send_content_length: bool = True

    def encoded_body(self) -> bytes:
        if self.json is not None:
            return json.dumps(self.json).encode()
        if isinstance(self.body, str):
            return self.body.encode()
        return self.body

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", "application/json")
        return headers


@dataclass
class RecordedRequest:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    received_monotonic: float
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """Return a request header by case-insensitive name."""
        expected_name = name.lower()
        for key, value in self.headers.items():
            if key.lower() == expected_name:
                return value
        return None


class _Route:
    def __init__(self, responses: list[FakeResponse] | None, handler: RouteHandler | None):
        self._responses = responses
        self._handler = handler
        self._served = 0
        self._lock = threading.Lock()

    def respond(self, request: RecordedRequest) -> FakeResponse:
        if self._handler is not None:
            return self._handler(request)
        assert self._responses
        with self._lock:
            index = min(self._served, len(self._responses) - 1)
            self._served += 1
        return self._responses[index]


class FakeServer:
    """Threaded HTTP/1.1 server bound to 127.0.0.1 on a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: dict[tuple[str, str], _Route] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._httpd = QuietHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, such as ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def route(
        self,
        method: str,
        path: str,
        response: FakeResponse | Iterable[FakeResponse] | RouteHandler,
    ) -> None:
        """Serve ``response`` for ``method`` and ``path``; the query string is ignored.

        A sequence is served in order and its last response repeats. A callable receives
        the RecordedRequest and returns the FakeResponse. A new route replaces the old one.
        """
        if isinstance(response, FakeResponse):
            entry = _Route([response], None)
        elif callable(response):
            entry = _Route(None, response)
        else:
            responses = list(response)
            if not responses:
                raise ValueError(f"route {method} {path} needs at least one response")
            entry = _Route(responses, None)
        with self._lock:
            self._routes[(method.upper(), path)] = entry

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, path: str | None = None) -> int:
        """Return the number of requests received, optionally only those for ``path``."""
        return len([r for r in self.requests if path is None or r.path == path])

    def timestamps(self, path: str | None = None) -> list[float]:
        """Return the monotonic arrival times of the requests, optionally for one path."""
        return [r.received_monotonic for r in self.requests if path is None or r.path == path]

    def reset(self) -> None:
        """Forget the recorded requests and the routes."""
        with self._lock:
            self._requests.clear()
            self._routes.clear()

    def _record(self, request: RecordedRequest) -> _Route | None:
        with self._lock:
            self._requests.append(request)
            return self._routes.get((request.method, request.path))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def do_DELETE(self) -> None:
                self._serve()

            def do_HEAD(self) -> None:
                self._serve()

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output quiet

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers=dict(self.headers.items()),
                    body=body,
                    received_monotonic=time.monotonic(),
                    received_at=time.time(),
                )
                route = server._record(request)
                if route is None:
                    response = FakeResponse(
                        status=404, json={"error": f"no route for {self.command} {split.path}"}
                    )
                else:
                    response = route.respond(request)
                try:
                    self._send(response)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up, for example after its size limit

            def _send(self, response: FakeResponse) -> None:
                if response.delay:
                    time.sleep(response.delay)
                payload = response.encoded_body()
                total_length = len(payload) * response.repeat_body
                self.send_response(response.status)
                for name, value in response.all_headers().items():
                    self.send_header(name, value)
                if response.send_content_length:
                    self.send_header("Content-Length", str(total_length))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command == "HEAD":
                    return
                for _ in range(response.repeat_body):
                    if response.chunk_delay:
                        self._send_slowly(payload, response)
                    else:
                        self.wfile.write(payload)
                self.wfile.flush()

            def _send_slowly(self, payload: bytes, response: FakeResponse) -> None:
                for start in range(0, len(payload), response.chunk_size):
                    self.wfile.write(payload[start : start + response.chunk_size])
                    self.wfile.flush()
                    time.sleep(response.chunk_delay)

        return Handler
