"""Random-weight CLIP models for tests, benchmarks and offline trials: `load_clip("random:tiny")`.

Architectures follow the released CLIP sizes (speed and memory are real, predictions meaningless);
`tiny` is a 4-layer, 64-wide model small enough for unit tests. All use a byte-level tokenizer built
in memory, so any text can be encoded without tokenizer files.
"""
from __future__ import annotations

from transformers import CLIPConfig, PreTrainedTokenizerFast

#            text: width, layers      vision: width, layers, patch, native image size    projection
RANDOM_SIZES = {
    "tiny": dict(text=(64, 2), vision=(64, 4, 16, 224), projection=32),
    "vit-b-32": dict(text=(512, 12), vision=(768, 12, 32, 224), projection=512),
    "vit-b-16": dict(text=(512, 12), vision=(768, 12, 16, 224), projection=512),
    "vit-l-14": dict(text=(768, 12), vision=(1024, 24, 14, 224), projection=768),
}
BYTE_VOCAB = 256
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def byte_tokenizer(max_length: int = 77) -> PreTrainedTokenizerFast:
    """A lower-casing byte-level tokenizer: one token per UTF-8 byte, then BOS (id 256) and EOS (id 257)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {symbol: i for i, symbol in enumerate(sorted(alphabet))}
    vocab[BOS], vocab[EOS] = BYTE_VOCAB, BYTE_VOCAB + 1
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}", special_tokens=[(BOS, BYTE_VOCAB), (EOS, BYTE_VOCAB + 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=EOS, unk_token=EOS,
        model_max_length=max_length,
    )


def random_clip_config(size: str) -> CLIPConfig:
    """The CLIPConfig of a named random size (see RANDOM_SIZES); vocabulary = the byte tokenizer's."""
    spec = RANDOM_SIZES[size]
    (text_width, text_layers), (width, layers, patch, image) = spec["text"], spec["vision"]
    return CLIPConfig(
        text_config=dict(
            hidden_size=text_width, intermediate_size=4 * text_width, num_hidden_layers=text_layers,
            num_attention_heads=max(1, text_width // 64), vocab_size=BYTE_VOCAB + 2, max_position_embeddings=77,
            bos_token_id=BYTE_VOCAB, eos_token_id=BYTE_VOCAB + 1, pad_token_id=BYTE_VOCAB + 1,
        ),
        vision_config=dict(
            hidden_size=width, intermediate_size=4 * width, num_hidden_layers=layers,
            num_attention_heads=max(1, width // 64), patch_size=patch, image_size=image,
        ),
        projection_dim=spec["projection"],
    )
