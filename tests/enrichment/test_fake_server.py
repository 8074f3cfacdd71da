import time

import requests

from .fake_server import FakeResponse, FakeServer


def test_sequence_then_repeat_last(fake_server):
    fake_server.route("GET", "/a", [FakeResponse(status=500), FakeResponse(json={"ok": True})])

    statuses = [requests.get(fake_server.url + "/a", timeout=5).status_code for _ in range(3)]

    assert statuses == [500, 200, 200]


def test_records_requests(fake_server):
    fake_server.route("POST", "/b", FakeResponse(json={}))

    requests.post(fake_server.url + "/b?x=1", json={"k": "v"}, headers={"X-Test": "yes"}, timeout=5)

    request = fake_server.requests[0]
    assert request.query == {"x": ["1"]}
    assert request.json() == {"k": "v"}
    assert request.header("x-test") == "yes"
    assert fake_server.count("/b") == 1
    assert fake_server.count("/other") == 0


def test_handler_route(fake_server):
    fake_server.route("GET", "/echo", lambda request: FakeResponse(json=request.query))

    echoed = requests.get(fake_server.url + "/echo?q=1", timeout=5).json()

    assert echoed == {"q": ["1"]}


def test_unknown_route_404(fake_server):
    response = requests.get(fake_server.url + "/missing", timeout=5)

    assert response.status_code == 404
    assert fake_server.count() == 1


def test_delay_and_timestamps(fake_server):
    fake_server.route("GET", "/slow", FakeResponse(body="x", delay=0.2))
    started = time.monotonic()

    requests.get(fake_server.url + "/slow", timeout=5)

    assert time.monotonic() - started >= 0.2
    assert fake_server.timestamps("/slow")[0] >= started


def test_repeat_body_length(fake_server):
    fake_server.route("GET", "/big", FakeResponse(body=b"abc", repeat_body=1000))

    response = requests.get(fake_server.url + "/big", timeout=5)

    assert len(response.content) == 3000


def test_context_manager_stops():
    with FakeServer() as server:
        url = server.url
        server.route("GET", "/", FakeResponse(body="up"))
        assert requests.get(url + "/", timeout=5).text == "up"
