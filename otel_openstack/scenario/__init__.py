"""Scenarios: document a list of ``openstack`` commands as one mkdocs-material site.

    otel-openstack scenario run FILE -o SITE_DIR [--local-cloud | --cloud-state DIR]

* :mod:`.spec`: the YAML file format, parsed and checked into dataclasses (pure);
* :mod:`.runner`: setup steps, each documented command under ``opentelemetry-instrument``,
  cleanup; outputs bound to ``{name.field}``;
* :mod:`.site`: ``mkdocs.yml``, the home page and one folder per command;
* :mod:`.files`: the files a scenario makes in its work folder (an empty qcow2).

See docs/scenarios.md.
"""

from otel_openstack.scenario.spec import Scenario, ScenarioError, load, loads

__all__ = ["Scenario", "ScenarioError", "load", "loads"]
