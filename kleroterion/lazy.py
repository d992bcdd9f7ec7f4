"""A Typer group whose sub-commands are imported only when used.

The command modules import pandas, scipy and statsmodels; importing all of them made every ``klero``
call, even ``klero --help``, take seconds. ``LazyGroup`` knows each command's name, module and
one-line help from a static table, lists them without importing anything, and imports a module only
when its command runs or shows its own ``--help``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer._click.core import Command, Context  # typer vendors click and exposes no public alias
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """One top-level command: ``target`` is ``"module:attribute"``, a Typer sub-app or a command function.

    ``help`` is what ``klero --help`` shows without importing ``module``; it must equal the sub-app's
    ``help`` or the function's docstring first line (a test keeps the two from drifting apart).
    """

    name: str
    target: str
    help: str

    def load(self) -> Command:
        """Import the module and build the click command, as ``typer.main.get_command`` would."""
        module_name, attribute = self.target.split(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        holder = typer.Typer()
        if isinstance(obj, typer.Typer):
            holder.add_typer(obj, name=self.name)
        else:
            holder.command(self.name)(obj)
        return typer.main.get_group(holder).commands[self.name]


class _Deferred(TyperCommand):
    """Stands in for a command in the help listing; builds the real one when it runs.

    ``TyperGroup.invoke`` runs ``sub_ctx.command``, the command of the context ``make_context``
    returns, so handing ``make_context`` on to the real command is all it takes.
    """

    def __init__(self, spec: LazyCommand) -> None:
        super().__init__(spec.name, help=spec.help, short_help=spec.help)
        self.spec = spec

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        return self.spec.load().make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """A Typer group with lazily imported commands ``COMMANDS`` and a help order ``ORDER``.

    Subclasses set both. Commands registered on the Typer app itself (eager ones) are listed too: in
    ``ORDER`` when named there, otherwise after it.
    """

    COMMANDS: ClassVar[Sequence[LazyCommand]] = ()
    ORDER: ClassVar[Sequence[str]] = ()

    def lazy_commands(self) -> dict[str, LazyCommand]:
        return {spec.name: spec for spec in self.COMMANDS}

    def list_commands(self, ctx: Context) -> list[str]:
        known = set(self.commands) | set(self.lazy_commands())
        ordered = [name for name in self.ORDER if name in known]
        return ordered + sorted(known - set(ordered))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        spec = self.lazy_commands().get(cmd_name)
        return _Deferred(spec) if spec is not None else None

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:  # "Did you mean ...?" for the lazy commands too
            if args and "Did you mean" not in exc.message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise
