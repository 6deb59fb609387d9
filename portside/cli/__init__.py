"""The ``portside`` command line: one dispatcher, one module per family of commands."""
