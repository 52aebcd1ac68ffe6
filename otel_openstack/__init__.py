"""otel-openstack: what an OpenStack CLI command really does on the wire."""

__version__ = "0.1.0"
