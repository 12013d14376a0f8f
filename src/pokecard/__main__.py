"""``python -m pokecard`` = the ``pokecard`` command (for machines where it is not installed)."""

from pokecard.cli import main

main()
