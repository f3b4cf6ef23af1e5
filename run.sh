#!/usr/bin/env bash
# The two commands of README.md.
#
#   ./run.sh          set up (first time only) and start her_desktop
#   ./run.sh test     set up with the test tools, then lint, type-check and run every test
#
# Anything after the first word is passed on: ./run.sh chat --model smollm2-135m-instruct
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [[ "${1:-}" == test ]]; then
    shift
    scripts/setup --dev
    . .venv/bin/activate
    echo "==> ruff" >&2
    ruff check .
    ruff format --check .
    echo "==> mypy" >&2
    mypy
    echo "==> pytest" >&2
    exec python -m pytest "$@"
fi

if [[ ! -x .venv/bin/her-desktop || ! -f .venv/.setup-done ]]; then
    scripts/setup
    touch .venv/.setup-done
fi
exec .venv/bin/her-desktop "$@"
