"""Speech to text: one interface (base.py), one file per engine."""
