"""The application layer: the use cases the CLI, the web app, the demo and the benchmarks all call.

One module per area, named after the command (``klero letters draw`` -> ``kleroterion.app.letters``).
A use case takes a workspace and a typed request, does one unit of work in one store transaction,
reports progress through ``sortition.progress`` and honours its cancel signal, and returns a typed,
frozen result. It holds no presentation: the edges (``kleroterion.commands``, ``kleroterion.web``)
parse, call and show.
"""
