"""What some WSGI servers (and middlewares above ours) do that gunicorn does not, in process.

* PEP 3333 asks a server to call ``close()`` "upon completion of the request",
  which may come before any iteration: a client gone before the first byte, a
  filter above ours that replaces the response.  The app's ``close()`` must
  still run once, the span must still end, and the request's context must
  not stay attached to the thread (the next request would become its child).
* eventlet.wsgi computes ``Content-Length`` of a sized result with
  ``sum(map(len, result))`` and then iterates it again; wsgiref adds it from
  ``len(result)``.  A wrapped list must stay a sized, re-iterable result.
"""

from __future__ import annotations

import contextvars
import io
import json
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from otel_openstack.instrumentation.wsgi import wrap

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def environ(**headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/x", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    env.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return env


class Body:
    def __init__(self) -> None:
        self.closed = 0
        self.pulled = 0

    def __iter__(self) -> Any:
        for chunk in (b"never ", b"sent"):
            self.pulled += 1
            yield chunk

    def close(self) -> None:
        self.closed += 1


def test_close_without_iterating_closes_the_app_once_ends_the_span_and_detaches(memory_spans, figures) -> None:
    body = Body()

    def app(env: dict, start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    wrapped = wrap(app, service_name="odd")

    def serve() -> bool:
        result = wrapped(environ(traceparent=TRACEPARENT), lambda *a: None)
        result.close()
        return trace.get_current_span().get_span_context().is_valid

    # A context of its own: a leak must not reach the other tests of this process.
    thread_context = contextvars.Context()
    leaked = thread_context.run(serve)
    figures.add("odd_server_cases")
    failed = not (body.closed == 1 and body.pulled == 0 and not leaked and len(memory_spans.get_finished_spans()) == 1)
    figures.add("odd_server_failures", int(failed))
    assert (body.closed, body.pulled) == (1, 0)
    assert not leaked, "the request's context stayed attached"
    (span,) = memory_spans.get_finished_spans()
    assert span.kind == SpanKind.SERVER and f"{span.context.trace_id:032x}" == TRACEPARENT[3:35]
    assert span.attributes["openstack.http.response.body.state"] == "incomplete"

    # the next request on this thread starts a trace of its own
    memory_spans.clear()
    def serve_again() -> None:
        again = wrapped(environ(), lambda *a: None)
        assert b"".join(again) == b"never sent"
        again.close()

    thread_context.run(serve_again)  # the same "thread" as the first request
    (span,) = memory_spans.get_finished_spans()
    assert span.kind == SpanKind.SERVER and f"{span.context.trace_id:032x}" != TRACEPARENT[3:35]


def test_a_list_result_stays_sized_and_iterable_twice(memory_spans, figures) -> None:
    def app(env: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"a": ', b"1}"]

    result = wrap(app, service_name="odd")(environ(), lambda *a: None)
    figures.add("odd_server_cases")
    try:
        length = sum(map(len, result))  # eventlet.wsgi's Content-Length
        sized = len(result)  # wsgiref's one-block check
        body = b"".join(result)
    except TypeError:
        length, sized, body = -1, -1, b""
    figures.add("odd_server_failures", int((length, sized, body) != (8, 2, b'{"a": 1}')))
    assert (length, sized, body) == (8, 2, b'{"a": 1}')
    getattr(result, "close", lambda: None)()
    (span,) = memory_spans.get_finished_spans()
    assert span.attributes["openstack.http.response.body.state"] == "text"
    assert json.loads(span.attributes["http.response.body.content"]) == {"a": 1}


def test_close_twice_closes_the_app_once(memory_spans, figures) -> None:
    body = Body()

    def app(env: dict, start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body

    result = wrap(app, service_name="odd")(environ(), lambda *a: None)
    assert b"".join(result) == b"never sent"
    result.close()
    result.close()
    figures.add("odd_server_cases")
    figures.add("odd_server_failures", int(body.closed != 1))
    assert body.closed == 1
    assert len(memory_spans.get_finished_spans()) == 1
