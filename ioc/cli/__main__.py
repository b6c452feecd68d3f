"""``python -m ioc.cli``: what the ``ioc`` console script runs."""

from ioc.cli import main

main()
