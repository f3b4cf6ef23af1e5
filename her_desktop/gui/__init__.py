"""The desktop window (PySide6): a subscriber of the bus like any other stage."""
