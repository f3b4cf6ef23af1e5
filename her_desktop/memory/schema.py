"""The memory database's schema, as numbered migrations (``PRAGMA user_version``).

Policy: migration *n* (1-based) takes a database at ``user_version = n - 1`` to ``n``; each runs
in its own transaction together with the version bump, so a crash mid-migration leaves the old
version. Migrations are only ever appended, never edited once released. A database whose version
is newer than ``SCHEMA_VERSION`` was written by a newer her_desktop and is not touched.
"""

from __future__ import annotations

from typing import Final

MEMORY_KINDS: Final = ("fact", "episode", "preference")
ROLES: Final = ("user", "assistant", "system")

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: conversations, messages, memories (+ their history), mood samples
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        started REAL NOT NULL,
        title TEXT
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        turn_id INTEGER,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        text TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE INDEX messages_conversation ON messages(conversation_id, id);
    CREATE TABLE memories (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('fact', 'episode', 'preference')),
        subject TEXT,
        text TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        source_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        valence REAL NOT NULL DEFAULT 0.0,
        arousal REAL,
        salience REAL NOT NULL DEFAULT 0.5,
        confidence REAL NOT NULL DEFAULT 0.5,
        embedding BLOB,
        embedder TEXT
    );
    CREATE UNIQUE INDEX memories_subject ON memories(subject) WHERE subject IS NOT NULL;
    CREATE INDEX memories_updated ON memories(updated);
    CREATE TABLE memory_history (
        id INTEGER PRIMARY KEY,
        memory_id INTEGER NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        replaced REAL NOT NULL,
        source_message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL
    );
    CREATE INDEX memory_history_memory ON memory_history(memory_id);
    CREATE TABLE mood_samples (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        valence REAL NOT NULL,
        arousal REAL NOT NULL,
        label TEXT NOT NULL,
        turn_id INTEGER
    );
    CREATE INDEX mood_samples_ts ON mood_samples(ts);
    """,
    # 2: user messages the background LM has not read yet (read at the next idle time, also
    # after a restart); a forgotten message takes its row with it
    """
    CREATE TABLE pending_consolidation (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        queued REAL NOT NULL
    );
    """,
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
