"""Span attribute names shared by capture (writing) and sources/model (reading).

OpenTelemetry HTTP semantic-convention names are used where they exist, so
that generic backends (Jaeger, Tempo) show our spans like any other HTTP span;
what semconv has no name for lives under the ``openstack.`` prefix.  Every
name is documented in ``docs/attributes.md``; keep the two in step.
"""

from __future__ import annotations

# --- semantic conventions (stable HTTP names) ---------------------------------
HTTP_REQUEST_METHOD = "http.request.method"
URL_FULL = "url.full"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
USER_AGENT_ORIGINAL = "user_agent.original"
ERROR_TYPE = "error.type"
HTTP_REQUEST_HEADER_PREFIX = "http.request.header."
HTTP_RESPONSE_HEADER_PREFIX = "http.response.header."
HTTP_REQUEST_BODY_CONTENT = "http.request.body.content"
HTTP_RESPONSE_BODY_CONTENT = "http.response.body.content"
HTTP_REQUEST_BODY_SIZE = "http.request.body.size"
HTTP_RESPONSE_BODY_SIZE = "http.response.body.size"

# Old (pre-1.21) semconv names, still emitted by upstream instrumentations in
# their default mode; the model reads them as fallbacks.
OLD_HTTP_METHOD = "http.method"
OLD_HTTP_URL = "http.url"
OLD_HTTP_STATUS_CODE = "http.status_code"
OLD_HTTP_TARGET = "http.target"
OLD_HTTP_HOST = "http.host"
OLD_HTTP_SCHEME = "http.scheme"
OLD_HTTP_USER_AGENT = "http.user_agent"
URL_PATH = "url.path"
URL_QUERY = "url.query"
URL_SCHEME = "url.scheme"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

# --- openstack.* ---------------------------------------------------------------
#: Name of the local participant (``openstack``, ``glance-api`` ...) that made
#: (CLIENT) or served (SERVER) the exchange.
SERVICE_NAME = "openstack.service.name"
#: Callee name as the caller knew it (CLIENT spans only).
PEER_SERVICE = "openstack.peer.service"
#: What keystoneauth resolved for the call (CLIENT spans via keystoneauth).
SERVICE_TYPE = "openstack.service.type"
SERVICE_INTERFACE = "openstack.service.interface"
SERVICE_REGION = "openstack.service.region"
#: ``keystoneauth1`` / ``requests`` / ``wsgi``: which capture point made it.
CAPTURED_BY = "openstack.captured_by"
#: Reason phrase exactly as sent (``MULTIPLE CHOICES``, ``Created``).
STATUS_TEXT = "openstack.http.response.status_text"
#: Header names in the order sent, original case; values are in the semconv
#: ``http.*.header.<lowercase name>`` attributes.
REQUEST_HEADER_ORDER = "openstack.http.request.header_names"
RESPONSE_HEADER_ORDER = "openstack.http.response.header_names"
#: Body facts for bodies not kept as text (binary, too large, streamed).
REQUEST_BODY_SHA256 = "openstack.http.request.body.sha256"
RESPONSE_BODY_SHA256 = "openstack.http.response.body.sha256"
REQUEST_BODY_STATE = "openstack.http.request.body.state"
RESPONSE_BODY_STATE = "openstack.http.response.body.state"
#: The ``traceresponse`` value a server sent back: tells the CLI which server
#: span to wait for.
TRACERESPONSE = "openstack.http.response.traceresponse"
#: CLI command attributes (root span of the ``openstack`` process).
CLI_COMMAND = "openstack.cli.command"
CLI_ARGV = "openstack.cli.argv"
CLI_OUTPUT = "openstack.cli.output"
PROCESS_EXIT_CODE = "process.exit.code"

# Body states: what the ``*.body.content`` attribute holds, if anything.
BODY_TEXT = "text"  # full text in body.content
BODY_EMPTY = "empty"
BODY_BINARY = "binary"  # not text: summary only
BODY_TRUNCATED = "over_limit"  # text over the limit: summary only
BODY_STREAMED = "not_captured"  # passed by without us seeing it (e.g. stream=True)
BODY_INCOMPLETE = "incomplete"  # the stream ended early (disconnect, error)

#: Headers that carry trace context, hidden from outputs by default.
PROPAGATION_HEADERS = frozenset({"traceparent", "tracestate", "baggage", "traceresponse"})


def request_header_key(name: str) -> str:
    """Semconv attribute key for a request header (lower-case, ``-`` kept as in the spec)."""
    return HTTP_REQUEST_HEADER_PREFIX + name.lower()


def response_header_key(name: str) -> str:
    return HTTP_RESPONSE_HEADER_PREFIX + name.lower()
