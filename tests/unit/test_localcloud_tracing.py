"""examples.localcloud.tracing: which of the caller's variables reach the local cloud's services."""

from __future__ import annotations

from pathlib import Path

from examples.localcloud.tracing import otlp_env, service_env


def test_an_otlp_endpoint_adds_otlp_and_passes_the_exporter_settings_on() -> None:
    caller = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
              "OTEL_SERVICE_NAME": "mine", "OS_PASSWORD": "x"}
    env = service_env("glance-api", Path("/spool"), True, caller)
    assert env["OTEL_TRACES_EXPORTER"] == "otel_openstack,otlp"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_SERVICE_NAME"] == "glance-api"
    assert "OS_PASSWORD" not in env


def test_a_traces_only_endpoint_counts_too() -> None:
    assert otlp_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://h:4318/v1/traces"})["OTEL_TRACES_EXPORTER"] \
        == "otel_openstack,otlp"


def test_without_an_endpoint_the_services_export_to_the_spool_only() -> None:
    env = service_env("keystone", Path("/spool"), True, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert env["OTEL_TRACES_EXPORTER"] == "otel_openstack"


def test_an_untraced_cloud_gets_no_tracing_variables() -> None:
    assert service_env("keystone", Path("/spool"), False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h"}) \
        == {"LOCALCLOUD_MIDDLEWARE": "0"}
