"""Settings: defaults, round trip, plain-words problems, never overwriting a user's bad file."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from her_desktop import paths
from her_desktop.config import (
    DEFAULT_MODEL_ID,
    ConfigError,
    Settings,
    load_settings,
    save_settings,
    settings_path,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def test_missing_file_gives_defaults_without_problem() -> None:
    loaded = load_settings()
    assert loaded.problem is None
    assert loaded.writable
    assert loaded.path == settings_path()
    assert not loaded.path.exists()
    s = loaded.settings
    assert s.llm.engine == "llamacpp"
    assert s.llm.model == DEFAULT_MODEL_ID
    assert s.llm.n_ctx == 4096
    assert s.llm.n_gpu_layers == "auto"
    assert s.llm.n_threads is None
    assert s.llm.max_tokens == 320
    assert s.llm.remote.url == "http://127.0.0.1:8080/v1"
    assert s.llm.remote.api_key_env == ""
    assert s.persona == "samantha"
    assert s.privacy.memory_enabled is True
    assert s.privacy.checkins_enabled is False
    assert s.privacy.debug_log_messages is False
    assert s.log_level == "info"


def test_round_trip_keeps_every_value() -> None:
    original = Settings.model_validate(
        {
            "llm": {
                "engine": "remote",
                "model": "/models/mine.gguf",
                "n_ctx": 8192,
                "n_gpu_layers": 12,
                "n_threads": 2,
                "temperature": 1.1,
                "remote": {"url": "http://localhost:11434/v1", "api_key_env": "MY_KEY"},
            },
            "persona": "/home/me/persona.toml",
            "privacy": {"memory_enabled": False},
            "log_level": "debug",
        }
    )
    path = save_settings(original)
    loaded = load_settings(path)
    assert loaded.problem is None
    assert loaded.settings == original
    assert tomllib.loads(path.read_text())["llm"]["n_threads"] == 2


def test_unset_optional_value_is_left_out_of_the_file() -> None:
    path = save_settings(Settings())
    assert "n_threads" not in tomllib.loads(path.read_text())["llm"]
    assert load_settings(path).settings == Settings()


@posix_only
def test_saved_file_and_created_dirs_are_private(tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "nested" / "settings.toml"
    save_settings(Settings(), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.config_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.data_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.models_dir().stat().st_mode) == 0o700


def test_env_dirs_are_used(isolated_user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths.config_dir() == isolated_user_dirs / "config"
    assert paths.cache_dir() == isolated_user_dirs / "cache"
    assert paths.models_dir() == isolated_user_dirs / "data" / "models"
    monkeypatch.setenv("HER_DESKTOP_MODELS_DIR", str(isolated_user_dirs / "shared-models"))
    assert paths.models_dir() == isolated_user_dirs / "shared-models"
    assert paths.models_dir().is_dir()


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    paths.atomic_write_text(target, "one")
    paths.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.txt"
    paths.atomic_write_text(target, "old")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        paths.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


# ---------------------------------------------------------------------------------------------
# Invalid files: defaults, a plain message, and the file is never overwritten
# ---------------------------------------------------------------------------------------------


def _write(text: str) -> Path:
    path = settings_path()
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_value_names_file_line_key_and_fix() -> None:
    path = _write('log_level = "info"\n\n[llm]\nn_ctx = 100\n')
    loaded = load_settings()
    assert loaded.settings == Settings()
    assert not loaded.writable
    assert loaded.problem is not None
    assert str(path) in loaded.problem
    assert "line 4" in loaded.problem
    assert "llm.n_ctx must be at least 512" in loaded.problem
    assert "fix or delete that line" in loaded.problem
    assert "running on defaults" in loaded.problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[llm]\nnctx = 2048\n", "llm.nctx is not a known setting"),
        ("[lmm]\nn_ctx = 2048\n", "lmm is not a known setting"),
        ('[llm]\nengine = "cloud"\n', 'llm.engine must be one of "llamacpp" or "remote"'),
        ('[llm]\nn_ctx = "4096"\n', "llm.n_ctx must be a whole number"),
        ("[llm]\ntemperature = 3.5\n", "llm.temperature must be at most 2"),
        ('[llm]\nn_gpu_layers = "all"\n', 'llm.n_gpu_layers must be "auto"'),
        ("[llm]\nn_gpu_layers = -5\n", 'llm.n_gpu_layers must be "auto"'),
        ("[llm]\nmax_tokens = 0\n", "llm.max_tokens must be at least 1"),
        ("[llm]\ndeadline_s = 0\n", "llm.deadline_s must be more than 0"),
        ('[llm.remote]\napi_key_env = "sk-abc123"\n', "never the key itself"),
        ('[llm.remote]\nurl = "localhost:8080"\n', 'must start with "http://"'),
        ("[privacy]\nmemory_enabled = 1\n", "privacy.memory_enabled must be true or false"),
        ("llm = 3\n", "llm must be a table"),
        ('log_level = "verbose"\n', "log_level must be one of"),
        ("persona = 1\n", "persona must be text in quotes"),
    ],
)
def test_each_kind_of_mistake_is_explained(text: str, expected: str) -> None:
    _write(text)
    loaded = load_settings()
    assert loaded.problem is not None
    assert expected in loaded.problem
    assert "line " in loaded.problem
    assert loaded.settings == Settings()
    assert not loaded.writable


def test_several_mistakes_are_all_listed() -> None:
    _write("[llm]\nn_ctx = 1\nmax_tokens = 0\n")
    problem = load_settings().problem
    assert problem is not None
    assert "line 2: llm.n_ctx" in problem
    assert "line 3: llm.max_tokens" in problem
    assert "fix or delete those lines" in problem


def test_not_toml_is_reported_with_its_line() -> None:
    _write('[llm]\nn_ctx = 4096\nmodel = "unterminated\n')
    loaded = load_settings()
    assert loaded.problem is not None
    assert "is not valid TOML" in loaded.problem
    assert "line 3" in loaded.problem
    assert not loaded.writable


def test_not_utf8_is_reported() -> None:
    settings_path().write_bytes(b'log_level = "\xff\xfe"\n')
    loaded = load_settings()
    assert loaded.problem is not None
    assert "not UTF-8" in loaded.problem
    assert loaded.settings == Settings()


def test_unreadable_path_is_reported_not_raised() -> None:
    settings_path().mkdir()  # a directory where the file should be
    loaded = load_settings()
    assert loaded.problem is not None
    assert "could not read" in loaded.problem
    assert not loaded.writable


def test_save_refuses_to_overwrite_an_invalid_file() -> None:
    original = "[llm]\nn_ctx = 100  # my note\n"
    path = _write(original)
    with pytest.raises(ConfigError, match=r"kept as it is.*llm\.n_ctx"):
        save_settings(Settings())
    assert path.read_text() == original


def test_save_refuses_to_overwrite_a_file_that_is_not_toml() -> None:
    path = _write("this is not = = toml\n")
    with pytest.raises(ConfigError, match="fix or delete"):
        save_settings(Settings())
    assert path.read_text() == "this is not = = toml\n"


def test_save_over_a_valid_file_works() -> None:
    _write("[llm]\nn_ctx = 2048\n")
    loaded = load_settings()
    changed = loaded.settings.model_copy(update={"log_level": "debug"})
    save_settings(changed)
    assert load_settings().settings.log_level == "debug"
    assert load_settings().settings.llm.n_ctx == 2048


def test_assignment_is_validated() -> None:
    s = Settings()
    with pytest.raises(ValueError, match="n_ctx"):
        s.llm.n_ctx = 10


# ---------------------------------------------------------------------------------------------
# Environment overrides
# ---------------------------------------------------------------------------------------------


def test_env_overrides_apply_after_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    _write('[llm]\nn_ctx = 8192\nmodel = "from-file"\n')
    monkeypatch.setenv("HER_DESKTOP__LLM__N_CTX", "2048")
    monkeypatch.setenv("HER_DESKTOP__LLM__REMOTE__URL", "http://127.0.0.1:9999/v1")
    monkeypatch.setenv("HER_DESKTOP__PRIVACY__MEMORY_ENABLED", "false")
    monkeypatch.setenv("HER_DESKTOP__PERSONA", "/tmp/p.toml")  # not TOML: kept as text
    loaded = load_settings()
    assert loaded.problem is None
    assert loaded.settings.llm.n_ctx == 2048
    assert loaded.settings.llm.model == "from-file"
    assert loaded.settings.llm.remote.url == "http://127.0.0.1:9999/v1"
    assert loaded.settings.privacy.memory_enabled is False
    assert loaded.settings.persona == "/tmp/p.toml"
    assert set(loaded.overridden) == {
        "llm.n_ctx",
        "llm.remote.url",
        "privacy.memory_enabled",
        "persona",
    }


def test_bad_env_override_is_reported_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HER_DESKTOP__LLM__N_CTX", "10")
    monkeypatch.setenv("HER_DESKTOP__LLM__NCTX", "2048")
    monkeypatch.setenv("HER_DESKTOP__LLM__MAX_TOKENS", "100")
    loaded = load_settings()
    assert loaded.problem is not None
    assert "HER_DESKTOP__LLM__N_CTX: llm.n_ctx must be at least 512" in loaded.problem
    assert "HER_DESKTOP__LLM__NCTX: llm.nctx is not a known setting" in loaded.problem
    assert "unset it" in loaded.problem
    assert loaded.settings.llm.n_ctx == 4096
    assert loaded.settings.llm.max_tokens == 100
    assert loaded.writable  # the file itself is fine


def test_env_overrides_still_apply_when_the_file_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _write("[llm]\nbogus = 1\n")
    monkeypatch.setenv("HER_DESKTOP__LLM__N_CTX", "1024")
    loaded = load_settings()
    assert loaded.settings.llm.n_ctx == 1024
    assert loaded.problem is not None
    assert "llm.bogus" in loaded.problem
    assert not loaded.writable


# ---------------------------------------------------------------------------------------------
# Fuzz: whatever is in settings.toml, loading never raises and never touches the file
# ---------------------------------------------------------------------------------------------

_fuzz = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_fuzz
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    path = settings_path()
    path.write_bytes(data)
    loaded = load_settings()
    assert isinstance(loaded.settings, Settings)
    assert path.read_bytes() == data
    assert loaded.writable == (loaded.problem is None)


_scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=20),
    st.dates(),
)
_keys = st.one_of(
    st.sampled_from(["llm", "privacy", "persona", "log_level", "n_ctx", "remote", "engine"]),
    st.text(max_size=8),
)
_documents = st.dictionaries(
    _keys,
    st.recursive(
        _scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
        max_leaves=12,
    ),
    max_size=5,
)


@_fuzz
@given(_documents)
def test_fuzz_arbitrary_toml_documents(document: dict[str, object]) -> None:
    path = settings_path()
    data = tomli_w.dumps(document).encode()
    path.write_bytes(data)
    loaded = load_settings()
    assert isinstance(loaded.settings, Settings)
    assert path.read_bytes() == data
    if loaded.problem is None:
        # Whatever was accepted is exactly what the file says.
        assert loaded.settings == Settings.model_validate(tomllib.loads(data.decode()))
