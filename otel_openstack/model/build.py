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
Siblings are then ordered by time, with each process's clock shifted so that
every server span lies within its client span (hosts' clocks disagree).

Any spans at all make a trace, without a traceback:

* spans of upstream instrumentations (``opentelemetry-instrumentation-requests``
  / ``-wsgi``), with the old (``http.method``, ``http.url``, ``http.target``
  ...) or the stable semantic-convention names and no bodies: what was not
  captured is shown as not captured;
* an exact copy of a span (exported twice) counts once; another span with
  the same id is dropped with a warning;
* a missing parent puts what it held at the top level, or under the client
  exchange whose ``traceresponse`` named it; parent cycles are cut;
* spans that are not HTTP exchanges (internal, database, RPC, messaging)
  are not shown, and are named in one warning;
* two CLIENT spans for one request (a library span around a lower-level
  one) are one exchange.
"""

from __future__ import annotations

import http.client
from typing import Any, Iterable, Mapping, Sequence

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


def _method(span: SpanRecord) -> str:
    """The request method; semconv's ``_OTHER`` gives way to the original."""
    a = span.attributes
    method = str(_first(a, A.HTTP_REQUEST_METHOD, A.OLD_HTTP_METHOD) or "")
    if method == "_OTHER":
        method = str(a.get("http.request.method_original") or method)
    return method.upper()


def span_url(span: SpanRecord) -> str:
    """The full URL, from ``url.full`` / ``http.url`` or rebuilt from its parts (old or new names)."""
    a = span.attributes
    url = _first(a, A.URL_FULL, A.OLD_HTTP_URL)
    if url:
        return str(url)
    scheme = _first(a, A.URL_SCHEME, A.OLD_HTTP_SCHEME) or "http"
    host = _first(a, A.OLD_HTTP_HOST, A.SERVER_ADDRESS, "net.host.name", "http.server_name",
                  "net.peer.name") or "unknown"
    port = _first(a, A.SERVER_PORT, "net.host.port", "net.peer.port")
    if port and ":" not in str(host):
        host = f"{host}:{port}"
    target = _first(a, A.OLD_HTTP_TARGET) or _first(a, A.URL_PATH) or _path_from_name(span) or "/"
    query = a.get(A.URL_QUERY)
    if query and "?" not in str(target):
        target = f"{target}?{query}"
    return f"{scheme}://{host}{target}"


def _path_from_name(span: SpanRecord) -> str | None:
    """``/v2/images`` from a span named ``POST /v2/images`` (upstream WSGI spans without a target)."""
    words = span.name.split(" ")
    if len(words) == 2 and words[1].startswith("/") and words[0].upper() in (_method(span), "HTTP"):
        return words[1]
    return None


def _headers(span: SpanRecord | None, direction: str) -> Headers | None:
    """Ordered headers from a span, or None when that span captured none."""
    if span is None:
        return None
    a = span.attributes
    prefix = A.HTTP_REQUEST_HEADER_PREFIX if direction == "request" else A.HTTP_RESPONSE_HEADER_PREFIX
    order_key = A.REQUEST_HEADER_ORDER if direction == "request" else A.RESPONSE_HEADER_ORDER
    names = a.get(order_key)
    if names is None:
        # Upstream instrumentations write ``user_agent`` for ``User-Agent``.
        found = [(key[len(prefix):].replace("_", "-"), value) for key, value in a.items() if key.startswith(prefix)]
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


def _status_text(sides: Sequence[SpanRecord], code: int | None) -> str:
    for span in sides:
        if span.attributes.get(A.STATUS_TEXT):
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


def _exchange(client: SpanRecord | None, server: SpanRecord | None, options: NamingOptions,
              inner: Sequence[SpanRecord] = (), clock: "_Clock | None" = None) -> Exchange:
    """One exchange from its client span (plus ``inner`` client spans of the same request) and server span.

    Each fact comes from the first side that has it: the client, the inner
    client spans, then the server.
    """
    primary = client or server
    assert primary is not None
    sides = [s for s in (client, *inner, server) if s is not None]
    clients = [s for s in (client, *inner) if s is not None]
    url = span_url(primary)
    method = _method(primary)
    if client is not None:
        caller = local_name(client)
        callee = local_name(server) if server is not None else _client_peer_name(client, url, options)
    else:
        caller = naming.caller_from_user_agent(
            _first(server.attributes, A.USER_AGENT_ORIGINAL, A.OLD_HTTP_USER_AGENT))  # type: ignore[union-attr]
        callee = local_name(server)  # type: ignore[arg-type]
    code = next((c for c in map(_status_code, sides) if c is not None), None)
    req_headers = next((h for s in sides if (h := _headers(s, "request")) is not None), ())
    resp_headers = next((h for s in sides if (h := _headers(s, "response")) is not None), ())
    request_body = next((b for s in sides if (b := _body(s, "request", req_headers)) is not None), NOT_CAPTURED)
    response_body = next((b for s in sides if (b := _body(s, "response", resp_headers)) is not None),
                         NOT_CAPTURED)
    error = next((e for e in map(_error, clients) if e is not None), None)
    if error is None and code is None:
        error = (_error(server) if server is not None else None) or "no response"
    return Exchange(
        caller=caller,
        callee=callee,
        method=method,
        url=url,
        path=naming.split_url(url).path or "/",
        status_code=code,
        status_text=_status_text(sides, code),
        request_headers=req_headers,
        request_body=request_body,
        response_headers=resp_headers,
        response_body=response_body,
        start_ns=clock.start(primary) if clock is not None else primary.start_ns,
        end_ns=clock.end(primary) if clock is not None else primary.end_ns,
        error=error if code is None or code >= 400 else None,
        span_id=primary.span_id,
    )


def build_trace(spans: Sequence[SpanRecord], trace_id: str | None = None,
                options: NamingOptions | None = None) -> Trace:
    """Build the exchange tree of one trace (the only trace, or ``trace_id``).

    Never raises on odd input: duplicate span ids, missing parents, parent
    cycles, non-HTTP spans and skewed clocks are dealt with as described in
    the module docstring, and named in ``Trace.warnings``.
    """
    options = options or NamingOptions()
    if trace_id is None:
        ids = {s.trace_id for s in spans}
        trace_id = min(ids) if len(ids) == 1 else _main_trace(spans)
    spans = [s for s in spans if s.trace_id == trace_id]
    warnings: list[str] = []
    by_id = _unique(spans, warnings)
    clock = _Clock(by_id)

    # A CLIENT span inside a CLIENT span for the same request (requests'
    # span around urllib3's, say) is the same exchange seen twice.
    merged_into: dict[str, str] = {}

    def outermost(span_id: str) -> str:
        while span_id in merged_into:
            span_id = merged_into[span_id]
        return span_id

    for span in by_id.values():
        parent = by_id.get(span.parent_id or "")
        if span.kind == "client" and is_http(span) and parent is not None and parent.kind == "client" \
                and is_http(parent) and _same_request(parent, span) and outermost(parent.span_id) != span.span_id:
            merged_into[span.span_id] = parent.span_id  # never a loop: checked just above

    inner_of: dict[str, list[SpanRecord]] = {}
    for inner in merged_into:
        inner_of.setdefault(outermost(inner), []).append(by_id[inner])

    # Pair: a SERVER span whose parent is a CLIENT span is the far side of it.
    server_of: dict[str, SpanRecord] = {}
    paired_servers: set[str] = set()
    for span in sorted(by_id.values(), key=lambda s: (s.start_ns, s.span_id)):
        parent = by_id.get(span.parent_id or "")
        if is_http(span) and span.kind == "server" and parent is not None and is_http(parent) \
                and parent.kind == "client" and outermost(parent.span_id) not in server_of:
            server_of[outermost(parent.span_id)] = span
            paired_servers.add(span.span_id)
    clock.settle([(by_id[key], server) for key, server in server_of.items()], _cli_root(by_id.values()))

    # One exchange per CLIENT span and per unpaired SERVER span; remember which
    # spans stand for which exchange so nesting can look them up.
    owner: dict[str, str] = {}  # span id -> exchange key (the primary span id)
    made: dict[str, Exchange] = {}
    for span in by_id.values():
        if not is_http(span):
            continue
        if span.kind == "client":
            key = outermost(span.span_id)
            owner[span.span_id] = key
            if key != span.span_id:
                continue
            server = server_of.get(key)
            inner = sorted(inner_of.get(key, ()), key=lambda s: (s.start_ns, s.span_id))
            made[key] = _exchange(span, server, options, inner, clock)
            if server is not None:
                owner[server.span_id] = key
        elif span.span_id not in paired_servers:
            made[span.span_id] = _exchange(None, span, options, (), clock)
            owner[span.span_id] = span.span_id

    # Missing parents.  A server span that never arrived but that a client
    # span's traceresponse named still has a place: under that exchange.
    missing: dict[str, int] = {}
    for span in by_id.values():
        if span.parent_id and span.parent_id not in by_id:
            missing[span.parent_id] = missing.get(span.parent_id, 0) + 1
    for span in by_id.values():
        announced = _announced_span(span)
        if announced in missing and span.span_id in owner:
            owner.setdefault(announced, owner[span.span_id])
    for parent_id in sorted(missing):
        count = f"{missing[parent_id]} span{'s' if missing[parent_id] != 1 else ''}"
        if parent_id in owner and owner[parent_id] in made:
            warnings.append(f"missing span {parent_id} (parent of {count}): nested under "
                            f"{_describe(made[owner[parent_id]])}, whose response named it")
        else:
            warnings.append(f"missing span {parent_id} (parent of {count}): shown at top level")

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
    hidden = _not_shown(by_id.values(), root, merged_into)
    if hidden:
        warnings.append(hidden)
    command = root.attributes.get(A.CLI_COMMAND) if root is not None else None
    return Trace(
        trace_id=trace_id or "",
        exchanges=tuple(assemble(k) for k in top),
        command=str(command) if command else None,
        argv=tuple(root.attributes.get(A.CLI_ARGV) or ()) if root is not None else (),
        exit_code=_exit_code(root),
        output=str(root.attributes[A.CLI_OUTPUT]) if root is not None and root.attributes.get(A.CLI_OUTPUT) else None,
        warnings=tuple(warnings),
    )


def _unique(spans: Iterable[SpanRecord], warnings: list[str]) -> dict[str, SpanRecord]:
    """Spans by id: an exact copy (exported twice) is dropped silently, a different one with a warning."""
    by_id: dict[str, SpanRecord] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        kept = by_id.get(span.span_id)
        if kept is None:
            by_id[span.span_id] = span
        elif kept != span:
            warnings.append(f"duplicate span id {span.span_id} ignored")
    return by_id


def _same_request(outer: SpanRecord, inner: SpanRecord) -> bool:
    a, b = naming.split_url(span_url(outer)), naming.split_url(span_url(inner))
    return _method(outer) == _method(inner) and (a.path or "/", a.query) == (b.path or "/", b.query)


def _meet(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int] | None:
    """The intersection of two ranges, None when they do not meet."""
    if a is None:
        return None
    low, high = max(a[0], b[0]), min(a[1], b[1])
    return (low, high) if low <= high else None


def _middle(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Two ranges that do not meet: the point between their centres."""
    point = (a[0] + a[1] + b[0] + b[1]) // 4
    return point, point


def _announced_span(span: SpanRecord) -> str | None:
    """The server span id a client span's ``traceresponse`` named, if any."""
    value = span.attributes.get(A.TRACERESPONSE)
    if isinstance(value, str):
        parts = value.strip().split("-")
        if len(parts) == 4 and len(parts[2]) == 16:
            return parts[2].lower()
    return None


def _describe(exchange: Exchange) -> str:
    return f"{exchange.caller} -> {exchange.callee} {exchange.method} {exchange.path}"


def _not_shown(spans: Iterable[SpanRecord], root: SpanRecord | None, merged: Mapping[str, str]) -> str | None:
    """The warning naming spans that are not HTTP exchanges (the CLI root aside)."""
    groups: dict[str, int] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        if is_http(span) or span is root or span.span_id in merged:
            continue
        a = span.attributes
        what = ("db" if _first(a, "db.system", "db.system.name") else
                "rpc" if a.get("rpc.system") else
                "messaging" if a.get("messaging.system") else span.kind)
        service = a.get(A.SERVICE_NAME) or span.service_name
        label = f"{service + ': ' if service else ''}{span.name or '(unnamed)'} ({what})"
        groups[label] = groups.get(label, 0) + 1
    if not groups:
        return None
    total = sum(groups.values())
    shown = [f"{label} x{n}" if n > 1 else label for label, n in list(groups.items())[:5]]
    more = ", ..." if len(groups) > 5 else ""
    return f"{total} span{'s' if total != 1 else ''} not shown, not HTTP exchanges: {', '.join(shown)}{more}"


class _Clock:
    """Per-process clock offsets, so that spans from hosts with skewed clocks order right.

    A request is received after it is sent and before its answer arrives: a
    server span must start within its client span.  Where one does not, the
    server's process is shifted to the middle of the offsets that put every
    one of its exchanges with that caller wholly inside the client span
    (symmetric network latency), or, when no offset does, that start it
    inside.  A server span merely ending after its client span (the server
    closing up after the last byte went out) is no sign of skew.  Offsets
    propagate from the CLI's process (or the earliest span's) along the
    caller -> callee pairs; a process reached by no pair keeps its clock.
    """

    def __init__(self, by_id: Mapping[str, SpanRecord]):
        self.by_id = by_id
        self.offsets: dict[str, int] = {}
        #: process() by resource object: spans of one batch share their resource
        #: mapping, so its key is made once per batch instead of twice per span.
        self._by_resource: dict[int, tuple[Mapping[str, Any], str]] = {}

    def process(self, span: SpanRecord) -> str:
        if span.resource:
            cached = self._by_resource.get(id(span.resource))
            if cached is not None and cached[0] is span.resource:
                return cached[1]
            key = repr(sorted((str(k), repr(v)) for k, v in span.resource.items()))
            self._by_resource[id(span.resource)] = (span.resource, key)  # keeps it alive: the id stays its own
            return key
        return f"name:{local_name(span)}"

    def settle(self, pairs: Sequence[tuple[SpanRecord, SpanRecord]], root: SpanRecord | None) -> None:
        # per (caller, callee): offsets that start every server span inside its client span,
        # and offsets that fit each one wholly inside (None once no single offset can)
        starts: dict[tuple[str, str], tuple[int, int]] = {}
        wholes: dict[tuple[str, str], tuple[int, int] | None] = {}
        for client, server in pairs:
            edge = (self.process(client), self.process(server))
            if edge[0] == edge[1]:
                continue
            start = (client.start_ns - server.start_ns, client.end_ns - server.start_ns)
            whole = (client.start_ns - server.start_ns, client.end_ns - server.end_ns)
            if edge in starts:
                start = _meet(starts[edge], start) or _middle(starts[edge], start)
                whole = _meet(wholes[edge], whole) if wholes[edge] is not None else None
            starts[edge], wholes[edge] = start, whole if whole is None or whole[0] <= whole[1] else None
        if not starts:
            return
        if root is None:
            root = min(self.by_id.values(), key=lambda s: (s.start_ns, s.span_id))
        shifts = {}
        for edge, (low, high) in starts.items():
            if low <= 0 <= high:
                shifts[edge] = 0
            else:
                low, high = wholes[edge] or (low, high)
                shifts[edge] = (low + high) // 2
        self.offsets = {self.process(root): 0}
        queue = [self.process(root)]
        while queue:
            current = queue.pop(0)
            for (caller, callee), shift in sorted(shifts.items()):
                if caller == current and callee not in self.offsets:
                    self.offsets[callee] = self.offsets[current] + shift
                    queue.append(callee)
                elif callee == current and caller not in self.offsets:
                    self.offsets[caller] = self.offsets[current] - shift
                    queue.append(caller)

    def start(self, span: SpanRecord) -> int:
        return span.start_ns + self.offsets.get(self.process(span), 0)

    def end(self, span: SpanRecord) -> int:
        return span.end_ns + self.offsets.get(self.process(span), 0)


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
    parent_id = span.parent_id
    while parent_id:
        current = by_id.get(parent_id)
        if current is None:  # missing: placed only when a traceresponse named it
            key = owner.get(parent_id)
            return key if key is not None and key != own_key else None
        if current.span_id in seen:
            warnings.append(f"cycle in parent links at span {current.span_id}; nested at top level")
            return None
        seen.add(current.span_id)
        key = owner.get(current.span_id)
        if key is not None and key != own_key:
            return key
        parent_id = current.parent_id
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
