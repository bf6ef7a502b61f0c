"""Read and check GGUF model files without loading them.

A bounded, streaming parse of the GGUF header (magic, version, key/values,
tensor infos): nothing is memory-mapped and large arrays (a 150k-token
vocabulary) are skipped, not materialised, so checking a 2 GB file takes well
under a second. Every way a file can be wrong — not GGUF at all, an unsupported
version, a header cut short, tensor data extending past the end of the file (an
interrupted download) — becomes one ``BadInput`` with a message a person can act
on, never a traceback from deep inside llama.cpp.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Mapping

from core.errors import BadInput

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
# Arrays longer than this are counted, not kept (vocabularies, merges, scores).
_KEEP_ARRAY_MAX = 64
# Sanity bounds so a corrupt header cannot make us loop for hours.
_MAX_TENSORS = 1_000_000
_MAX_KV = 1_000_000
_MAX_DIMS = 8

# Architectures that are embedding/encoder models in llama.cpp.
EMBEDDING_ARCHITECTURES = frozenset({
    "bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "modern-bert",
    "neo-bert", "t5encoder",
})

# GGUF value type id -> struct format (scalars) ; 8 = string, 9 = array.
_SCALARS: dict[int, str] = {
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array too long to keep: its element type and length only."""

    element_type: int
    length: int


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF file says about itself (header only; weights untouched)."""

    path: Path
    file_size: int
    version: int
    architecture: str
    name: str | None
    context_length: int | None
    chat_template: str | None
    quantization: str | None
    parameter_count: int
    tensor_count: int
    vocab_size: int | None
    metadata: Mapping[str, Any] = field(repr=False)

    @property
    def is_embedding_model(self) -> bool:
        """Encoder architectures, or any model that declares a pooling type."""
        return (self.architecture in EMBEDDING_ARCHITECTURES
                or f"{self.architecture}.pooling_type" in self.metadata)

    @property
    def default_role(self) -> str:
        """The role a person most likely wants for this file: chat or embedding."""
        return "embedding" if self.is_embedding_model else "chat"

    @property
    def size_label(self) -> str | None:
        """"1.5B"-style label from metadata, else from the counted parameters."""
        label = self.metadata.get("general.size_label")
        if isinstance(label, str) and label:
            return label
        if self.parameter_count <= 0:
            return None
        n = float(self.parameter_count)
        for unit, div in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if n >= div:
                return f"{n / div:.1f}{unit}"
        return str(self.parameter_count)


class _Reader:
    """Sequential reads that turn a short read into a clear 'truncated' error."""

    def __init__(self, fh: BinaryIO, size: int, path: Path) -> None:
        self.fh, self.size, self.path, self.pos = fh, size, path, 0

    def read(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.size:
            raise BadInput(
                f"{self.path.name} is truncated: its header ends early "
                f"(needs more than {self.size:,} bytes).",
                hint="The file is incomplete (an interrupted download?). Download it again.",
            )
        data = self.fh.read(n)
        if len(data) != n:
            raise BadInput(f"{self.path.name} could not be read completely.")
        self.pos += n
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > self.size - self.pos:
            self.read(n)  # raises the truncation error
        return self.read(n).decode("utf-8", errors="replace")

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.size:
            self.read(n)  # raises
        self.fh.seek(n, 1)
        self.pos += n

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype = self.unpack("<I")
            count = self.unpack("<Q")
            if count > self.size - self.pos:  # each element is at least one byte
                self.read(count)  # raises
            if count <= _KEEP_ARRAY_MAX:
                return [self.value(etype) for _ in range(count)]
            if etype in _SCALARS:
                self.skip(count * struct.calcsize(_SCALARS[etype]))
            else:
                for _ in range(count):
                    self.value(etype)  # strings/arrays: lengths must be walked
            return ArrayInfo(etype, count)
        raise BadInput(f"{self.path.name} has an unknown metadata type {vtype}: "
                       "it is corrupt or from a newer GGUF version.")


def _not_gguf(path: Path, why: str) -> BadInput:
    return BadInput(
        f"{path.name} is not a GGUF model file ({why}).",
        hint="Engram runs models in the GGUF format (llama.cpp); "
             "download a .gguf from the model's page, or use `engram models pull`.",
    )


def _tensor_nbytes(ggml_type: int, dims: list[int], path: Path) -> int:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        raise BadInput(f"{path.name} uses tensor type {ggml_type}, which this version "
                       "of Engram cannot run.") from None
    return math.prod(dims) // block * type_size


def _quantization_name(file_type: Any) -> str | None:
    if not isinstance(file_type, int):
        return None
    from gguf.constants import LlamaFileType

    try:
        name = LlamaFileType(file_type).name
    except ValueError:
        return f"type {file_type}"
    return name.removeprefix("MOSTLY_").replace("ALL_", "")


def read_gguf(path: str | Path) -> GGUFInfo:
    """Check that ``path`` is a complete GGUF file and return its metadata.

    Raises ``BadInput`` for a missing, non-GGUF, unsupported-version, corrupt or
    truncated file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except FileNotFoundError:
        raise BadInput(f"No such file: {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder, not a GGUF file.") from None
    except OSError as exc:
        raise BadInput(f"Cannot read {path}: {exc.strerror or exc}") from exc
    with fh:
        if size < 24:
            raise _not_gguf(path, f"only {size} bytes")
        r = _Reader(fh, size, path)
        if r.read(4) != GGUF_MAGIC:
            raise _not_gguf(path, "it does not start with the GGUF signature")
        version = r.unpack("<I")
        if version not in SUPPORTED_VERSIONS:
            if version == 1:
                raise BadInput(f"{path.name} is GGUF version 1, which llama.cpp no longer reads.",
                               hint="Download a current conversion of the model.")
            if struct.unpack(">I", struct.pack("<I", version))[0] in SUPPORTED_VERSIONS:
                raise BadInput(f"{path.name} is a big-endian GGUF; this machine needs "
                               "the ordinary little-endian file.")
            raise _not_gguf(path, f"unknown version {version}")
        n_tensors = r.unpack("<Q")
        n_kv = r.unpack("<Q")
        if n_tensors > _MAX_TENSORS or n_kv > _MAX_KV:
            raise BadInput(f"{path.name} has an implausible header "
                           f"({n_tensors} tensors, {n_kv} keys): it is corrupt.")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            meta[key] = r.value(r.unpack("<I"))
        n_params = 0
        data_end = 0
        tensor_names: list[str] = []
        for _ in range(n_tensors):
            name = r.string()
            n_dims = r.unpack("<I")
            if n_dims > _MAX_DIMS:
                raise BadInput(f"{path.name}: tensor {name!r} has {n_dims} dimensions: "
                               "corrupt file.")
            dims = [r.unpack("<Q") for _ in range(n_dims)]
            ggml_type = r.unpack("<I")
            offset = r.unpack("<Q")
            n_params += math.prod(dims)
            data_end = max(data_end, offset + _tensor_nbytes(ggml_type, dims, path))
            tensor_names.append(name)
        alignment = meta.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0:
            alignment = DEFAULT_ALIGNMENT
        data_start = -(-r.pos // alignment) * alignment
    if n_tensors == 0:
        raise BadInput(f"{path.name} is a GGUF file without any weights (no tensors): "
                       "it is not a model.")
    needed = data_start + data_end
    if needed > size:
        raise BadInput(
            f"{path.name} is truncated: its weights need {needed:,} bytes but the file "
            f"has {size:,} ({size * 100 // max(needed, 1)}%).",
            hint="The file is incomplete (an interrupted download or copy). Get it again.",
        )
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise BadInput(f"{path.name} does not name its architecture "
                       "(general.architecture): not a model llama.cpp can run.")
    tokens = meta.get("tokenizer.ggml.tokens")
    vocab = tokens.length if isinstance(tokens, ArrayInfo) else (
        len(tokens) if isinstance(tokens, list) else None)
    ctx = meta.get(f"{arch}.context_length")
    template = meta.get("tokenizer.chat_template")
    model_name = meta.get("general.name")
    return GGUFInfo(
        path=path, file_size=size, version=version, architecture=arch,
        name=model_name if isinstance(model_name, str) else None,
        context_length=ctx if isinstance(ctx, int) else None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        quantization=_quantization_name(meta.get("general.file_type")),
        parameter_count=n_params, tensor_count=n_tensors, vocab_size=vocab,
        metadata=meta,
    )
