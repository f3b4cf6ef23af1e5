"""What she remembers: a SQLite store of conversations, messages and memories (facts,
episodes, preferences, each with provenance and emotional weight), extraction of memories from
turns (LM with a grammar, or rules), and retrieval of the related ones as quoted notes for the
prompt. ``MemoryService`` is the dialogue's ``TurnContextProvider``."""
