"""``her-desktop memory ...``: see and control what she remembers.

Subcommands (``add_parser`` registers them; ``run`` dispatches on ``args.memory_command``):

``list [--kind fact|episode|preference] [--limit N]``   newest first (the default); an updated
                                  memory shows the value it replaced
``search QUERY [--limit N]``      by meaning (embeddings) and by words
``show ID``                       one memory, where it came from, and its earlier versions
``edit ID TEXT``                  replace a memory's text (the old text is kept as history)
``forget ID``                     delete one memory and the messages it was learned from
``forget-all [--yes]``            delete everything: memories, conversations, mood history,
                                  and damaged copies set aside earlier; asks unless ``--yes``
``export [--out FILE]``           everything as JSON (stdout by default; a file is owner-only)
``style [--unlearn]``             how she talks to you: the rules you gave (edit or forget them
                                  by id) and what she learned from 👍/👎 (``--unlearn`` undoes it)

Every command opens the store itself and prints problems as ``! what happened. the fix.``;
exit status 0 on success, 1 when the memory asked for does not exist, 2 when the store cannot
be used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from her_desktop.memory.embeddings import create_embedder, describe
from her_desktop.memory.extraction import clean_text
from her_desktop.memory.index import VectorIndex
from her_desktop.memory.records import MemoryRecord
from her_desktop.memory.retrieval import Weights, quote, rank, relative_time
from her_desktop.memory.schema import MEMORY_KINDS
from her_desktop.memory.store import MemoryStore
from her_desktop.memory.store_file import MemoryStoreError, set_aside_copies
from her_desktop.paths import atomic_write_text

SEARCH_WEIGHTS = Weights(relevance=1.0, recency=0.0, salience=0.0)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``memory`` and its subcommands on an ``add_subparsers()`` object."""
    memory = sub.add_parser("memory", help="see, search, edit, forget and export memories")
    msub = memory.add_subparsers(dest="memory_command")
    lst = msub.add_parser("list", help="memories, newest first (the default)")
    lst.add_argument("--kind", choices=MEMORY_KINDS)
    lst.add_argument("--limit", type=int, default=50)
    search = msub.add_parser("search", help="memories related to some words")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=10)
    show = msub.add_parser("show", help="one memory, its source and earlier versions")
    show.add_argument("id", type=int)
    edit = msub.add_parser("edit", help="replace a memory's text")
    edit.add_argument("id", type=int)
    edit.add_argument("text")
    forget = msub.add_parser("forget", help="delete one memory")
    forget.add_argument("id", type=int)
    forget_all = msub.add_parser("forget-all", help="delete everything she remembers")
    forget_all.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export = msub.add_parser("export", help="everything as JSON")
    export.add_argument("--out", type=Path, default=None, help="JSON file (default: stdout)")
    style = msub.add_parser("style", help="how she talks to you: your rules and what she learned")
    style.add_argument("--unlearn", action="store_true", help="forget the 👍/👎 ratings")
    return memory  # type: ignore[no-any-return]


def run(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "list": cmd_list,
        "search": cmd_search,
        "show": cmd_show,
        "edit": cmd_edit,
        "forget": cmd_forget,
        "forget-all": cmd_forget_all,
        "export": cmd_export,
        "style": cmd_style,
    }
    command = getattr(args, "memory_command", None) or "list"
    if command == "list" and not hasattr(args, "limit"):
        args.kind, args.limit = None, 50
    return commands[command](args)


def _open() -> MemoryStore | None:
    try:
        store = MemoryStore.open()
    except MemoryStoreError as exc:
        print(f"! {exc}", file=sys.stderr)
        return None
    if store.problem:
        print(f"! {store.problem}", file=sys.stderr)
    return store


def _line(record: MemoryRecord, now: float) -> str:
    subject = f"  [{record.subject}]" if record.subject else ""
    return (
        f'#{record.id:<5} {record.kind:<10} "{quote(record.text)}"'
        f"  ({relative_time(record.updated, now)}){subject}"
    )


def cmd_list(args: argparse.Namespace) -> int:
    store = _open()
    if store is None:
        return 2
    with store:
        records = store.memories(kind=args.kind, limit=args.limit)
        total = store.count()
        earlier = {r.id: store.history(r.id) for r in records}
    now = time.time()
    if not records:
        print("No memories yet." if total == 0 else "No memories of that kind.")
        return 0
    for record in records:
        before = earlier.get(record.id)
        was = f'  (was: "{quote(before[-1].text)}")' if before else ""
        print(_line(record, now) + was)
    if total > len(records):
        print(f"({len(records)} of {total} shown; use --limit to see more)")
    return 0


def search_memories(store: MemoryStore, query: str, limit: int) -> list[MemoryRecord]:
    """By meaning first (current embedder), then by words; no repeats."""
    embedder = create_embedder()
    table = store.embeddings(embedder.name, embedder.dim)
    index = VectorIndex.from_table(table, embedder.dim)
    scored = rank(
        index.view(),
        embedder.embed([query])[0],
        now=time.time(),
        min_relevance=embedder.min_relevance,
        limit=limit,
        weights=SEARCH_WEIGHTS,
    )
    by_id = store.get_many([s.memory_id for s in scored])
    found = [by_id[s.memory_id] for s in scored if s.memory_id in by_id]
    seen = {r.id for r in found}
    found += [r for r in store.search_text(query, limit=limit) if r.id not in seen]
    return found[:limit]


def cmd_search(args: argparse.Namespace) -> int:
    store = _open()
    if store is None:
        return 2
    with store:
        found = search_memories(store, args.query, args.limit)
    print(describe(create_embedder()), file=sys.stderr)
    if not found:
        print("Nothing found.")
        return 0
    now = time.time()
    for record in found:
        print(_line(record, now))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _open()
    if store is None:
        return 2
    with store:
        record = store.get(args.id)
        if record is None:
            print(f"! There is no memory #{args.id}. See them with: her-desktop memory list")
            return 1
        history = store.history(record.id)
        source = [m for m in store.messages() if m["id"] == record.source_message_id]
    now = time.time()
    print(_line(record, now))
    print(
        f"  confidence {record.confidence:.2f}, salience {record.salience:.2f}, "
        f"valence {record.valence:+.2f}"
    )
    if source:
        print(f'  learned from: "{quote(source[0]["text"])}"')
    for entry in history:
        print(f'  before ({relative_time(entry.replaced, now)}): "{quote(entry.text)}"')
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    text = clean_text(args.text)
    if text is None:
        print('! The new text is empty. Give a sentence, e.g. "My dog is called Max."')
        return 1
    store = _open()
    if store is None:
        return 2
    embedder = create_embedder()
    with store:
        ok = store.update_text(
            args.id, text, embedding=embedder.embed([text])[0], embedder=embedder.name
        )
    if not ok:
        print(f"! There is no memory #{args.id}. See them with: her-desktop memory list")
        return 1
    print(f'Memory #{args.id} now reads: "{quote(text)}"')
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    store = _open()
    if store is None:
        return 2
    with store:
        found = store.forget(args.id)
    if not found:
        print(f"! There is no memory #{args.id}. See them with: her-desktop memory list")
        return 1
    print(f"Memory #{args.id} is forgotten (with the messages it was learned from).")
    return 0


def cmd_forget_all(args: argparse.Namespace) -> int:
    copies = set_aside_copies()
    if not args.yes:
        extra = f", and {len(copies)} damaged cop(ies) set aside earlier" if copies else ""
        print(
            "This deletes every memory, every conversation and your mood history"
            f"{extra}. It cannot be undone."
        )
        if not sys.stdin.isatty():
            print("! Not confirmed. Run again with --yes to confirm.")
            return 1
        if input("Type 'yes' to forget everything: ").strip().lower() != "yes":
            print("Nothing was deleted.")
            return 1
    store = _open()
    if store is None:
        return 2
    with store:
        store.forget_all()  # the set-aside copies too
    print("Everything is forgotten.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = _open()
    if store is None:
        return 2
    with store:
        data: dict[str, Any] = store.export()
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(args.out, text)
    print(f"Exported {len(data['memories'])} memories to {args.out} (readable only by you).")
    return 0


def cmd_style(args: argparse.Namespace) -> int:
    from her_desktop.feedback import ratings
    from her_desktop.feedback.service import read_style, style_records

    store = _open()
    if store is None:
        return 2
    with store:
        if args.unlearn:
            count = ratings.forget_ratings(store)
            print(f"{count} rating(s) forgotten; what she learned from them is undone.")
            return 0
        records = style_records(store)
        style = read_style(store)
        rated = ratings.load(store)
    now = time.time()
    if not records and not rated:
        print('No style rules yet. Tell her, e.g. "call me Sam" or "shorter answers please".')
        return 0
    for record in records:
        print(_line(record, now))
    if rated:
        good = sum(r.good for r in rated)
        print(f"Ratings: {good} 👍, {len(rated) - good} 👎 (memory list --kind preference)")
    for note in style.learned:
        print(f"Learned: {note}")
    if style.learned:
        print("(undo with: her-desktop memory style --unlearn)")
    return 0
