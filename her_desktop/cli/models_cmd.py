"""``her-desktop models``: list, install, add, remove and verify models."""

from __future__ import annotations

import argparse
import sys

from her_desktop.cli.common import ProgressBar
from her_desktop.config import DEFAULT_MODEL_ID


def run(args: argparse.Namespace) -> int:
    from her_desktop import models
    from her_desktop.model_report import format_models_table, model_status_rows
    from her_desktop.stt.base import STTModelError
    from her_desktop.stt.models import STT_SPECS, get_stt_spec, resolve_stt_model

    command = args.models_command or "list"
    if command == "list":
        print(format_models_table(model_status_rows()))
        return 0
    if command == "install":
        ids = args.ids or [DEFAULT_MODEL_ID]
        failed = 0
        for model_id in ids:
            spec = models.get_spec(model_id)
            if spec is None and get_stt_spec(model_id) is not None:
                try:
                    folder = resolve_stt_model(model_id, ProgressBar(model_id))
                except STTModelError as exc:
                    print(f"! {exc}", file=sys.stderr)
                    failed += 1
                    continue
                print(f"{model_id}: installed at {folder}")
                continue
            if spec is None:
                known = ", ".join(s.id for s in (*models.MANIFEST, *STT_SPECS))
                print(f"! unknown model id {model_id!r} (known: {known})", file=sys.stderr)
                failed += 1
                continue
            try:
                path = models.install(spec, progress=ProgressBar(spec.name))
            except models.InstallError as exc:
                print(f"! {exc}", file=sys.stderr)
                failed += 1
                continue
            print(f"{spec.id}: installed at {path}")
        return 1 if failed else 0
    if command == "add":
        try:
            entry = models.register(args.path, name=args.name)
        except models.ModelError as exc:
            print(f"! {exc}", file=sys.stderr)
            return 1
        print(f"registered {entry.name} → {entry.path}")
        print(
            f'use it: set llm.model = "{entry.name}" in settings.toml, '
            f"or run: her-desktop chat --model {entry.name}"
        )
        return 0
    if command == "remove":
        try:
            models.unregister(args.name)
        except models.ModelError as exc:
            print(f"! {exc}", file=sys.stderr)
            return 1
        print(f"forgot {args.name} (the file itself was not touched)")
        return 0
    if command == "verify":
        rows = model_status_rows(full_check=True)
        print(format_models_table(rows))
        return 1 if any(r.status == "corrupt" for r in rows) else 0
    print(f"unknown models command {command!r}", file=sys.stderr)
    return 2
