"""CLI subcommands. Each module defines ``register(subparsers)`` which adds its parser(s) and sets
``func=`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code)."""
