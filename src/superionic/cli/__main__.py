"""``python -m superionic.cli`` = the ``superionic`` command."""

from superionic.cli import main

main()
