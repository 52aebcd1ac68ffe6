"""SpanRecords -> Trace: pair client and server spans into exchanges, nest, order.

An exchange is seen from up to two sides: the caller's CLIENT span (what went
on the wire) and the callee's SERVER span (what the service received).  The
client side is preferred for headers and bodies, because it is what was
really sent and received (with the server's ``Date``, ``Server`` ... added by
the web server); the server side fills what the client did not capture (a
streamed download) and names the callee.  A SERVER span with no CLIENT parent
is an exchange with an uninstrumented caller, named from its User-Agent.

Nesting follows causality (parent links), not clocks: an exchange made while
serving another is its child wherever the hosts' clocks say it happened.
"""

from __future__ import annotations

import http.client
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from otel_openstack import naming
from otel_openstack.capture import attributes as A
from otel_openstack.model.types import NOT_CAPTURED, Body, Exchange, Headers, Trace
from otel_openstack.sources.spans import SpanRecord


def _first(attributes: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value not in (None, ""):
            return value
    return None


def is_http(span: SpanRecord) -> bool:
    return span.kind in ("client", "server") and _first(
        span.attributes, A.HTTP_REQUEST_METHOD, A.OLD_HTTP_METHOD) is not None


def span_url(span: SpanRecord) -> str:
    a = span.attributes
    url = _first(a, A.URL_FULL, A.OLD_HTTP_URL)
    if url:
        return str(url)
    scheme = _first(a, A.URL_SCHEME, A.OLD_HTTP_SCHEME) or "http"
    host = _first(a, A.OLD_HTTP_HOST, A.SERVER_ADDRESS) or "unknown"
    port = a.get(A.SERVER_PORT)
    if port and ":" not in str(host):
        host = f"{host}:{port}"
    target = _first(a, A.OLD_HTTP_TARGET) or _first(a, A.URL_PATH) or "/"
    query = a.get(A.URL_QUERY)
    if query and "?" not in str(target):
        target = f"{target}?{query}"
    return f"{scheme}://{host}{target}"


def _headers(span: SpanRecord | None, direction: str) -> Headers | None:
    """Ordered headers from a span, or None when that span captured none."""
    if span is None:
        return None
    a = span.attributes
    prefix = A.HTTP_REQUEST_HEADER_PREFIX if direction == "request" else A.HTTP_RESPONSE_HEADER_PREFIX
    order_key = A.REQUEST_HEADER_ORDER if direction == "request" else A.RESPONSE_HEADER_ORDER
    names = a.get(order_key)
    if names is None:
        found = [(key[len(prefix):], value) for key, value in a.items() if key.startswith(prefix)]
        if not found:
            return None
        out: list[tuple[str, str]] = []
        for name, value in found:
            values = value if isinstance(value, (list, tuple)) else [value]
            out.extend((name, str(v)) for v in values)
        return tuple(out)
    used: dict[str, int] = {}
    out = []
    for name in names:
        values = a.get(prefix + str(name).lower())
        if values is None:
            continue
        values = values if isinstance(values, (list, tuple)) else [values]
        index = used.get(name.lower(), 0)
        used[name.lower()] = index + 1
        if index < len(values):
            out.append((str(name), str(values[index])))
    return tuple(out)


def _body(span: SpanRecord | None, direction: str, headers: Headers) -> Body | None:
    if span is None:
        return None
    a = span.attributes
    state = a.get(f"openstack.http.{direction}.body.state")
    content = a.get(f"http.{direction}.body.content")
    if state is None and content is None:
        return None
    if state == A.BODY_STREAMED:
        return None
    size = a.get(f"http.{direction}.body.size")
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    return Body(
        text=str(content) if content is not None else None,
        size=int(size) if size is not None else None,
        content_type=content_type,
        sha256=a.get(f"openstack.http.{direction}.body.sha256"),
        state=str(state or (A.BODY_TEXT if content else A.BODY_EMPTY)),
    )


def _status_text(client: SpanRecord | None, server: SpanRecord | None, code: int | None) -> str:
    for span in (client, server):
        if span is not None and span.attributes.get(A.STATUS_TEXT):
            return str(span.attributes[A.STATUS_TEXT])
    if code is None:
        return ""
    try:
        return http.client.responses[code]
    except KeyError:
        return ""


def _status_code(span: SpanRecord | None) -> int | None:
    if span is None:
        return None
    value = _first(span.attributes, A.HTTP_RESPONSE_STATUS_CODE, A.OLD_HTTP_STATUS_CODE)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _error(span: SpanRecord | None) -> str | None:
    if span is None:
        return None
    for event in span.events:
        if event.get("name") == "exception":
            ev = event.get("attributes", {})
            kind = ev.get("exception.type", "")
            message = ev.get("exception.message", "")
            return f"{kind}: {message}".strip(": ") or "exception"
    if span.status_code == "error":
        return span.status_message or str(span.attributes.get(A.ERROR_TYPE) or "error")
    if span.attributes.get(A.ERROR_TYPE):
        return str(span.attributes[A.ERROR_TYPE])
    return None


def local_name(span: SpanRecord) -> str:
    return str(span.attributes.get(A.SERVICE_NAME) or span.service_name or "unknown_service")


def _client_peer_name(span: SpanRecord, url: str, options: "NamingOptions") -> str:
    named = span.attributes.get(A.PEER_SERVICE)
    if named:
        return str(named)
    return naming.callee_name(span.attributes.get(A.SERVICE_TYPE), url,
                              options.service_type_names, options.url_names)


class NamingOptions:
    """User overrides for naming uninstrumented peers (the spec's two mappings)."""

    def __init__(self, service_type_names: Iterable[tuple[str, str]] = (),
                 url_names: Iterable[tuple[str, str]] = ()):
        self.service_type_names = tuple(service_type_names)
        self.url_names = tuple(url_names)


def _exchange(client: SpanRecord | None, server: SpanRecord | None, options: NamingOptions) -> Exchange:
    primary = client or server
    assert primary is not None
    url = span_url(client) if client is not None else span_url(server)  # type: ignore[arg-type]
    method = str(_first(primary.attributes, A.HTTP_REQUEST_METHOD, A.OLD_HTTP_METHOD) or "")
    if client is not None:
        caller = local_name(client)
        callee = local_name(server) if server is not None else _client_peer_name(client, url, options)
    else:
        caller = naming.caller_from_user_agent(
            _first(server.attributes, A.USER_AGENT_ORIGINAL, A.OLD_HTTP_USER_AGENT))  # type: ignore[union-attr]
        callee = local_name(server)  # type: ignore[arg-type]
    code = _status_code(client) if client is not None else None
    if code is None:
        code = _status_code(server)
    req_headers = _headers(client, "request")
    if req_headers is None:
        req_headers = _headers(server, "request")
    resp_headers = _headers(client, "response")
    if resp_headers is None:
        resp_headers = _headers(server, "response")
    req_headers = req_headers or ()
    resp_headers = resp_headers or ()
    request_body = _body(client, "request", req_headers) or _body(server, "request", req_headers) or NOT_CAPTURED
    response_body = (_body(client, "response", resp_headers) or _body(server, "response", resp_headers)
                     or NOT_CAPTURED)
    error = _error(client) if client is not None else None
    if error is None and code is None:
        error = _error(server) or "no response"
    return Exchange(
        caller=caller,
        callee=callee,
        method=method.upper(),
        url=url,
        path=urlsplit(url).path or "/",
        status_code=code,
        status_text=_status_text(client, server, code),
        request_headers=req_headers,
        request_body=request_body,
        response_headers=resp_headers,
        response_body=response_body,
        start_ns=primary.start_ns,
        end_ns=primary.end_ns,
        error=error if code is None or code >= 400 else None,
        span_id=primary.span_id,
    )


def build_trace(spans: Sequence[SpanRecord], trace_id: str | None = None,
                options: NamingOptions | None = None) -> Trace:
    """Build the exchange tree of one trace (the only trace, or ``trace_id``)."""
    options = options or NamingOptions()
    if trace_id is None:
        ids = {s.trace_id for s in spans}
        trace_id = min(ids) if len(ids) == 1 else _main_trace(spans)
    spans = [s for s in spans if s.trace_id == trace_id]
    by_id: dict[str, SpanRecord] = {}
    warnings: list[str] = []
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        if span.span_id in by_id:
            warnings.append(f"duplicate span id {span.span_id} ignored")
            continue
        by_id[span.span_id] = span

    # Pair: a SERVER span whose parent is a CLIENT span is the far side of it.
    server_of: dict[str, SpanRecord] = {}
    paired_servers: set[str] = set()
    for span in by_id.values():
        parent = by_id.get(span.parent_id or "")
        if is_http(span) and span.kind == "server" and parent is not None and is_http(parent) \
                and parent.kind == "client" and parent.span_id not in server_of:
            server_of[parent.span_id] = span
            paired_servers.add(span.span_id)

    # One exchange per CLIENT span and per unpaired SERVER span; remember which
    # spans stand for which exchange so nesting can look them up.
    owner: dict[str, str] = {}  # span id -> exchange key (the primary span id)
    made: dict[str, Exchange] = {}
    for span in by_id.values():
        if not is_http(span):
            continue
        if span.kind == "client":
            server = server_of.get(span.span_id)
            made[span.span_id] = _exchange(span, server, options)
            owner[span.span_id] = span.span_id
            if server is not None:
                owner[server.span_id] = span.span_id
        elif span.span_id not in paired_servers:
            made[span.span_id] = _exchange(None, span, options)
            owner[span.span_id] = span.span_id

    # Nest: the enclosing exchange is the first ancestor span that belongs to one.
    children: dict[str | None, list[str]] = {}
    parent_of: dict[str, str | None] = {}
    for key in made:
        parent_key = _enclosing(by_id[key], by_id, owner, key, warnings)
        parent_of[key] = parent_key
        children.setdefault(parent_key, []).append(key)

    # Exchanges enclosing each other in a loop (corrupt parent links) are
    # reachable from no top-level exchange: lift one of each loop to the top.
    reachable = _subtree(children, None)
    for key in sorted(made, key=lambda k: (made[k].start_ns, k)):
        if key not in reachable:
            warnings.append(f"cycle in parent links at span {key}; nested at top level")
            children[parent_of[key]].remove(key)
            children.setdefault(None, []).append(key)
            reachable |= _subtree(children, key)

    def assemble(key: str) -> Exchange:
        kids = sorted(children.get(key, ()), key=lambda k: (made[k].start_ns, k))
        exchange = made[key]
        if kids:
            exchange = _replace_children(exchange, tuple(assemble(k) for k in kids))
        return exchange

    top = sorted(children.get(None, ()), key=lambda k: (made[k].start_ns, k))
    root = _cli_root(by_id.values())
    return Trace(
        trace_id=trace_id or "",
        exchanges=tuple(assemble(k) for k in top),
        command=str(root.attributes.get(A.CLI_COMMAND)) if root is not None and root.attributes.get(A.CLI_COMMAND) else None,
        argv=tuple(root.attributes.get(A.CLI_ARGV) or ()) if root is not None else (),
        exit_code=_exit_code(root),
        output=str(root.attributes[A.CLI_OUTPUT]) if root is not None and root.attributes.get(A.CLI_OUTPUT) else None,
        warnings=tuple(warnings),
    )


def _subtree(children: Mapping[str | None, list[str]], key: str | None) -> set[str]:
    """Exchange keys below ``key`` (``None``: the top), ``key`` itself included."""
    seen: set[str] = set()
    stack = list(children.get(key, ()))
    if key is not None:
        stack.append(key)
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children.get(current, ()))
    return seen


def _replace_children(exchange: Exchange, kids: tuple[Exchange, ...]) -> Exchange:
    from dataclasses import replace

    return replace(exchange, children=kids)


def _enclosing(span: SpanRecord, by_id: Mapping[str, SpanRecord], owner: Mapping[str, str],
               own_key: str, warnings: list[str]) -> str | None:
    seen = {span.span_id}
    current = by_id.get(span.parent_id or "")
    while current is not None:
        if current.span_id in seen:
            warnings.append(f"cycle in parent links at span {current.span_id}; nested at top level")
            return None
        seen.add(current.span_id)
        key = owner.get(current.span_id)
        if key is not None and key != own_key:
            return key
        current = by_id.get(current.parent_id or "")
    return None


def _cli_root(spans: Iterable[SpanRecord]) -> SpanRecord | None:
    candidates = [s for s in spans if s.attributes.get(A.CLI_COMMAND) is not None]
    return min(candidates, key=lambda s: s.start_ns) if candidates else None


def _exit_code(root: SpanRecord | None) -> int | None:
    if root is None or root.attributes.get(A.PROCESS_EXIT_CODE) is None:
        return None
    try:
        return int(root.attributes[A.PROCESS_EXIT_CODE])
    except (TypeError, ValueError):
        return None


def _main_trace(spans: Sequence[SpanRecord]) -> str:
    """With several traces and none chosen: the one with a CLI root, else the largest."""
    root = _cli_root(spans)
    if root is not None:
        return root.trace_id
    counts: dict[str, int] = {}
    for span in spans:
        counts[span.trace_id] = counts.get(span.trace_id, 0) + 1
    return max(sorted(counts), key=lambda t: counts[t]) if counts else ""
