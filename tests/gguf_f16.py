"""A GGUF's quantized tensors rewritten as F16 (same weights, same metadata).

The llama.cpp build on the test machines crashes (SIGSEGV in decode) on
SmolLM2-135M-Instruct's Q4_1 tensors; the same weights dequantized to F16 run.
Tests of the model path use this copy of the real model (written once per session).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def dequantized_copy(src: Path, dst: Path) -> Path:
    """Write ``src`` to ``dst`` with every quantized tensor as F16; returns ``dst``."""
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf import GGUFReader, GGUFWriter
    from gguf.quants import dequantize

    reader = GGUFReader(src)
    writer = GGUFWriter(dst, reader.fields["general.architecture"].contents())
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            writer.add_key_value(name, field.contents(), field.types[0],
                                 sub_type=field.types[-1])
        else:
            writer.add_key_value(name, field.contents(), field.types[0])
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    for tensor in reader.tensors:
        if tensor.tensor_type in (Q.F32, Q.F16):
            writer.add_tensor(tensor.name, np.array(tensor.data))
        else:
            writer.add_tensor(tensor.name,
                              dequantize(tensor.data, tensor.tensor_type).astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return dst
