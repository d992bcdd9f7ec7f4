"""The ``klero`` sub-commands, one module per area; each holds actions (callable from the demo) and their CLI."""
