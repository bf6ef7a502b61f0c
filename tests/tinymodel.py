"""A tiny llama-architecture GGUF chat model with random weights, for tests.

Written with the ``gguf`` package alone (no network, no torch): 64-dim, 2 layers,
a few hundred tokens of SentencePiece-style vocabulary with byte fallback
(<0x00>…<0xFF>), BOS/EOS, chatml special tokens and a chatml chat template. It
loads through the real llama-cpp-python in milliseconds and generates thousands
of tokens/s; its text is gibberish by design, so any structure in its output
comes from the grammar, which is exactly what the tests want to exercise.

Usage from any test::

    from tests.tinymodel import make_tiny_chat_gguf
    path = make_tiny_chat_gguf(tmp_path / "tiny.gguf")
"""
from __future__ import annotations

import string
from pathlib import Path

import numpy as np

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_FF = 128
CONTEXT_LENGTH = 2048

_WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this "
    "have from or one had by word but not what all were we when your can said there "
    "use an each which she do how their if will up other about out many then them "
    "these so some her would make like him into time has look two more write go see "
    "number no way could people my than first water been call who oil its now find "
    "long down day did get come made may part note meeting project email library "
    "python file name vpn fix tax report"
).split()


def _vocab() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and types in the layout llama.cpp's SPM tokenizer expects."""
    from gguf import TokenType

    tokens: list[str] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]
    types: list[int] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL,
                        TokenType.CONTROL, TokenType.CONTROL]
    scores: list[float] = [0.0] * len(tokens)
    for b in range(256):  # byte fallback: any text can be produced and tokenized
        tokens.append(f"<0x{b:02X}>")
        types.append(TokenType.BYTE)
        scores.append(0.0)
    pieces = ["▁"] + [c for c in string.printable[:94]]  # digits, letters, punctuation
    # Every prefix of a word too: SPM merges pairwise, so "▁word" is only reachable
    # through "▁w", "▁wo", "▁wor" (as in real SentencePiece vocabularies).
    pieces += sorted({"▁" + w[:i] for w in _WORDS for i in range(1, len(w) + 1)}, key=len)
    seen = set(tokens)
    for i, piece in enumerate(pieces):
        if piece in seen:
            continue
        seen.add(piece)
        tokens.append(piece)
        types.append(TokenType.NORMAL)
        # Longer pieces score higher so the SPM merge prefers whole words.
        scores.append(-float(len(pieces) - i) / 1000.0 + len(piece))
    return tokens, scores, [int(t) for t in types]


def make_tiny_chat_gguf(path: str | Path, *, seed: int = 1234, name: str = "tiny-chat",
                        chat_template: str | None = CHATML_TEMPLATE) -> Path:
    """Write the tiny chat model to ``path`` (overwriting) and return the path."""
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens, scores, types = _vocab()
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(CONTEXT_LENGTH)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(4)  # <|im_end|>: chatml models end a turn with it
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)  # chat templates format the text; no SPM "▁" prefix
    if chat_template is not None:
        w.add_chat_template(chat_template)

    def rand(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w.add_tensor("token_embd.weight", rand(n_vocab, N_EMBD, scale=1.0))
    for i in range(N_LAYER):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(f"blk.{i}.attn_q.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.attn_k.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.attn_v.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.attn_output.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", rand(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_up.weight", rand(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_down.weight", rand(N_EMBD, N_FF))
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    w.add_tensor("output.weight", rand(n_vocab, N_EMBD, scale=1.0))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


if __name__ == "__main__":  # pragma: no cover - handy for benchmarks by hand
    import sys

    out = make_tiny_chat_gguf(sys.argv[1] if len(sys.argv) > 1 else "tiny-chat.gguf")
    print(out, out.stat().st_size)
