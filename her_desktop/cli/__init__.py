"""Terminal front-ends of the ``her-desktop`` command."""
