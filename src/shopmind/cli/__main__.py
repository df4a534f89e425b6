"""``python -m shopmind.cli`` — the same as the ``shopmind`` console script."""

from shopmind.cli import main

main()
