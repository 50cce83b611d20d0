"""Class lists given by users: parsed from a comma-separated string or a file, then checked.

Names are stripped of surrounding whitespace; empty names and duplicates (compared case-insensitively,
with runs of whitespace counted as one space) are errors that name the offending entries. A
"background" catch-all is added only when asked for, never silently. Names too long for CLIP's text
encoder (77 tokens with the prompt around them) are refused rather than cut, since two names that differ
only in their cut-off end would become one class (`check_prompt_lengths`).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from openvidseg.errors import InputError

BACKGROUND = "background"
NO_CLASS = 255  # the mask value of a pixel that belongs to no class of the vocabulary
MAX_CLASSES = NO_CLASS  # mask values 0..254 are class indices
MAX_NAME_LENGTH = 200


def split_class_list(text: str) -> list[str]:
    """'person, dog ,ball' -> ['person', 'dog', 'ball'] (names stripped; empty names kept, to be reported)."""
    return [part.strip() for part in text.split(",")]


def read_class_file(path: str | Path) -> list[str]:
    """Class names from a text file: one per line (commas also separate), '#' starts a comment, blank
    lines are ignored."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"class file not found: {path} (check the --classes-file path)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read class file {path}: {err} (expected UTF-8 text, one class per line)") from None
    names: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.extend(split_class_list(line))
    if not names:
        raise InputError(f"class file {path} lists no classes: write one class name per line")
    return names


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name).casefold()


def check_class_names(names: Sequence[str], source: str = "--classes") -> tuple[str, ...]:
    """Stripped names, or an `InputError` naming empty entries, duplicates, control characters or too many classes."""
    names = [str(n).strip() for n in names]
    if not names:
        raise InputError(f"no class names given: pass {source}, e.g. --classes \"person, dog, ball\"")
    empty = [i + 1 for i, n in enumerate(names) if not n]
    if empty:
        where = ", ".join(map(str, empty))
        raise InputError(f"empty class name at position {where} of {source} ({len(names)} entries): "
                         "remove the extra comma or blank entry")
    bad = [n for n in names if any(ord(c) < 32 or ord(c) == 127 for c in n) or len(n) > MAX_NAME_LENGTH]
    if bad:
        raise InputError(f"class name {bad[0][:40]!r} holds control characters or is longer than "
                         f"{MAX_NAME_LENGTH} characters: use plain words")
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for name in names:
        key = _key(name)
        if key in seen:
            duplicates.append(name if name == seen[key] else f"{seen[key]}/{name}")
        else:
            seen[key] = name
    if duplicates:
        raise InputError(f"duplicate class names in {source}: {', '.join(dict.fromkeys(duplicates))} "
                         "(names are compared ignoring case): list each class once")
    if len(names) > MAX_CLASSES:
        raise InputError(f"{len(names)} classes given; at most {MAX_CLASSES} fit in the mask PNGs ({NO_CLASS} means no class)")
    return tuple(names)


def build_vocabulary(classes: str | Sequence[str] | None = None, classes_file: str | Path | None = None,
                     background: bool = False) -> tuple[str, ...]:
    """The checked class list from a comma-separated string or a list of names, and/or a class file,
    with `background` appended as the last class when asked for. Index i in masks = position i here."""
    if classes is None and classes_file is None:
        raise InputError("no classes given: pass --classes \"person, dog, ball\" or --classes-file FILE")
    names: list[str] = []
    sources = []
    if classes is not None:
        names += split_class_list(classes) if isinstance(classes, str) else [str(n) for n in classes]
        sources.append("--classes")
    if classes_file is not None:
        names += read_class_file(classes_file)
        sources.append(f"--classes-file {classes_file}")
    source = " and ".join(sources)
    if background:
        if any(_key(n) == BACKGROUND for n in names):
            raise InputError(f"'{BACKGROUND}' is already in {source} and --background adds it again: drop one of them")
        names.append(BACKGROUND)
    return check_class_names(names, source)


def check_prompt_lengths(names: Sequence[str], templates: Sequence[str], tokenizer, max_tokens: int) -> None:
    """Refuse (`InputError`) a class name whose longest prompt (a template with the name in it, plus the
    start and end tokens) exceeds the text encoder's `max_tokens`: it would be cut silently."""
    longest = max(templates, key=lambda t: len(tokenizer(t.replace("{}", ""))["input_ids"]))
    for name in names:
        count = len(tokenizer(longest.replace("{}", name))["input_ids"])
        if count > max_tokens:
            room = max_tokens - len(tokenizer(longest.replace("{}", ""))["input_ids"])
            raise InputError(f"class name {name[:40] + ('...' if len(name) > 40 else '')!r} is too long for CLIP: "
                             f"{count} tokens in the prompt {longest!r}, which holds at most {max_tokens} (the end "
                             f"would be cut, and two names could become one class); shorten it to at most "
                             f"{room} tokens (a few words)")
