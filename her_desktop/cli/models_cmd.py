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
    if command == "found":
        return _found(args)
    print(f"unknown models command {command!r}", file=sys.stderr)
    return 2


def _found(args: argparse.Namespace) -> int:
    """The GGUF models other apps keep on this computer, what they are and their speed here."""
    from her_desktop.cli.common import load_config_and_persona
    from her_desktop.llm.base import LLMError
    from her_desktop.models.discover import discover
    from her_desktop.models.speed import cached_speed, measure_speed

    settings, _ = load_config_and_persona()
    gpu = settings.llm.n_gpu_layers
    found = discover([*settings.llm.model_folders, *args.folder])
    if not found:
        print(
            "No models found in the folders of Ollama, LM Studio, GPT4All or Jan. "
            "Add a folder with: her-desktop models found --folder PATH"
        )
        return 0
    for model in found:
        speed = cached_speed(model.path, gpu)
        if speed is None and args.measure and model.chat:
            print(f"measuring {model.label} …", file=sys.stderr)
            try:
                speed = measure_speed(model.path, gpu_layers=gpu, n_threads=settings.llm.n_threads)
            except LLMError as exc:
                print(f"! {exc}", file=sys.stderr)
        arch = model.info.architecture if model.info else "?"
        speed_text = speed.text if speed else "speed not measured"
        print(f"{model.display}: {model.kind_text}, {arch}, {speed_text}")
        print(f"    {model.path}")
        if model.problem:
            print(f"    ! {model.problem}")
    print()
    print("Use one: her-desktop chat --model PATH, or set llm.model = PATH in settings.toml.")
    if not args.measure:
        print("Measure their speed here: her-desktop models found --measure")
    return 0
