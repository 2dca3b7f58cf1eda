"""``--help`` of every command: each option explained once, defaults stated once, every choice documented."""
from __future__ import annotations

import argparse
import pytest

from internvideo_core.cli import build_parser


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "internvideo"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _subparsers(sub, f"{prefix} {name}")


COMMAND_PARSERS = dict(_subparsers(build_parser()))


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        yield action


def test_the_parser_tree_is_found():
    assert "internvideo finetune" in COMMAND_PARSERS and "internvideo zoo list" in COMMAND_PARSERS


@pytest.mark.parametrize("command", sorted(COMMAND_PARSERS))
def test_every_option_has_help_and_states_its_default_at_most_once(command):
    parser = COMMAND_PARSERS[command]
    formatter = parser._get_formatter()
    for action in _options(parser):
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help.strip(), f"{command}: {name} has no help text"
        shown = formatter._expand_help(action)   # what --help prints for it (argparse may append a default)
        assert shown.count("(default") <= 1, f"{command}: {name} states its default twice: {shown!r}"


@pytest.mark.parametrize("command", sorted(COMMAND_PARSERS))
def test_every_choice_is_explained_in_the_help(command):
    for action in _options(COMMAND_PARSERS[command]):
        if not action.choices:
            continue
        missing = [c for c in action.choices if str(c) not in (action.help or "")]
        assert not missing, f"{command} {'/'.join(action.option_strings)}: help does not explain {missing}"
