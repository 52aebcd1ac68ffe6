"""Run keystone-manage's setup commands in one interpreter.

Why: each ``keystone-manage`` invocation spends ~2 s importing keystone, and
a fresh cloud needs four of them (db_sync, fernet_setup, credential_setup,
bootstrap). Calling keystone's own CLI entry point (keystone.cmd.cli.main)
four times in one process gives the same result for the price of one import.

Usage (run by examples.localcloud.keystone, not by hand)::

    OS_BOOTSTRAP_PASSWORD=... python -m examples.localcloud.keystone_manage \
        --config-file keystone.conf --url http://127.0.0.1:PORT/v3 \
        --region RegionOne
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd


def setup_commands(url: str, region: str) -> list[list[str]]:
    """The keystone-manage sub-commands that turn an empty folder into keystone.

    The key repositories must belong to the user that runs keystone, which
    is the current user here (no root, no dedicated account).
    """
    owner = [
        "--keystone-user",
        pwd.getpwuid(os.getuid()).pw_name,
        "--keystone-group",
        grp.getgrgid(os.getgid()).gr_name,
    ]
    return [
        ["db_sync"],
        ["fernet_setup", *owner],
        ["credential_setup", *owner],
        [
            "bootstrap",
            # The password comes from OS_BOOTSTRAP_PASSWORD, not argv.
            "--bootstrap-username", "admin",
            "--bootstrap-project-name", "admin",
            "--bootstrap-role-name", "admin",
            "--bootstrap-service-name", "keystone",
            "--bootstrap-region-id", region,
            "--bootstrap-admin-url", url,
            "--bootstrap-public-url", url,
            "--bootstrap-internal-url", url,
        ],
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--url", required=True, help="identity endpoint URL")
    parser.add_argument("--region", default="RegionOne")
    args = parser.parse_args(argv)
    if not os.environ.get("OS_BOOTSTRAP_PASSWORD"):
        parser.error("OS_BOOTSTRAP_PASSWORD must be set")

    from keystone.cmd import cli  # slow import: only after argument checks

    for command in setup_commands(args.url, args.region):
        print(f"keystone-manage {command[0]}", flush=True)
        # Forget the previous command's parsed arguments, else oslo.config
        # refuses to register the sub-command option again.
        cli.CONF.clear()
        cli.main(
            argv=["keystone-manage", "--config-file", args.config_file, *command]
        )


if __name__ == "__main__":
    main()
