"""The `jifen` command line.

    jifen demo [--script FILE]      the gateway on its embedded defaults, with the simulator
    jifen run [--config FILE]       the daemon
    jifen db upgrade|current|check  schema migrations
    jifen members add|list          members and their opening points
    jifen keywords list|add|remove|test|history   keywords, changed while the gateway runs
    jifen catalog load|list|add|set|stock         the reward catalogue
    jifen ledger serve|audit                      the central ledger service; a ledger audit
    jifen redemptions show|reverse|voucher|dispute  members' redemptions; disputes of shop ones
    jifen agents list|add|suspend|activate|close|move|import   the village shop agent network
    jifen report agents --month 2026-11 [--csv]   redemptions and commission per agent and level

Each module in `COMMANDS` adds its subcommands with ``register(subparsers)``;
a handler is called as ``handler(config, args)`` and returns the exit status.
A bad config or keywords file ends any command with one line naming the file
and the key, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from gateway import config as gateway_config
from gateway.cli import agents, catalog, core, keywords, ledger, redemptions

COMMANDS = (core, keywords, catalog, ledger, redemptions, agents)
EXIT_CONFIG = 2
EXIT_FAILED = 1


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = gateway_config.load(args.config)
        gateway_config.check_keywords(config)
    except gateway_config.ConfigError as error:
        print(f"jifen: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return args.handler(config, args) or 0
    except core.CommandError as error:
        print(f"jifen: {error}", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jifen", description="Jifen SMS/USSD points gateway")
    parser.add_argument("--config", help="gateway TOML (default: the embedded config)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
