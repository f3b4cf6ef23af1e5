"""Text to speech: one interface (base.py), text normalisation, one file per engine."""
