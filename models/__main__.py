"""``python -m ivifmodels`` (and ``torchrun ... -m ivifmodels``): the ``ivifmodels`` command."""

from .cli import main

main()
