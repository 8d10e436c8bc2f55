"""The ``lockgate`` command: the composition root that wires the packages per sub-command."""
