"""Argument types shared by the ``otel-openstack`` subcommands."""

from __future__ import annotations

import argparse


def positive_seconds(text: str) -> float:
    """A timeout: a number of seconds above 0 (argparse reports the message)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text!r}")
    return value
