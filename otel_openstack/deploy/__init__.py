"""Putting the instrumentation into a deployment: paste ini edits (``paste_ini``)."""
