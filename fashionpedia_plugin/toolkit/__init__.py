"""The tool floor: code that only ``tools/`` (and tests) run, one module per tool or concern.

Nothing in the registered core (``datasets``, ``models``, ``evaluation``, ``engine``, ``apis``,
``compat``, ``taxonomy``) imports from here; ``tests/test_layout.py`` checks it.
"""
