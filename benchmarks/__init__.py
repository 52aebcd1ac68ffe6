"""Benchmarks of otel-openstack: middleware overhead, streaming, CLI, renderer (``make bench``)."""
