"""Risk: sizing policies and rules behind one gate; a command goes in, a command or a denial out.

Pure decisions over the command and a read-only view of the account: no I/O, no clock.
"""
