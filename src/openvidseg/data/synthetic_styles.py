"""How each class of the synthetic dataset looks: a colour, and a shape (things) or texture (stuff).

Shapes are functions (yy, xx, cy, cx, radius) -> (H, W) bool over float pixel grids; textures are
functions (height, width, colour, rng) -> (H, W, 3) uint8. Both registries can be extended, or a
`ClassStyle` can hold a callable directly.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from openvidseg.errors import ConfigError

ShapeFn = Callable[[np.ndarray, np.ndarray, float, float, float], np.ndarray]
TextureFn = Callable[[int, int, tuple[int, int, int], np.random.Generator], np.ndarray]

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 80, 220), "yellow": (230, 210, 40),
    "purple": (150, 60, 190), "orange": (240, 140, 30), "cyan": (40, 200, 210), "pink": (240, 120, 180),
    "white": (235, 235, 235), "black": (25, 25, 25), "brown": (130, 80, 40), "grey": (128, 128, 128),
}
STUFF_COLOURS = ((120, 170, 230), (90, 150, 70), (190, 160, 110), (110, 110, 125), (60, 120, 140))


def _circle(yy, xx, cy, cx, r):
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _square(yy, xx, cy, cx, r):
    return np.maximum(np.abs(yy - cy), np.abs(xx - cx)) <= 0.85 * r


def _diamond(yy, xx, cy, cx, r):
    return np.abs(yy - cy) + np.abs(xx - cx) <= r


def _triangle(yy, xx, cy, cx, r):
    dy = yy - cy
    return (dy <= 0.7 * r) & (np.abs(xx - cx) <= (dy + r) / 1.7)


def _star(yy, xx, cy, cx, r):
    dy, dx = yy - cy, xx - cx
    angle = np.arctan2(dy, dx)
    return np.hypot(dy, dx) <= r * (0.45 + 0.55 * np.abs(np.cos(2.5 * angle)))


def _cross(yy, xx, cy, cx, r):
    ady, adx = np.abs(yy - cy), np.abs(xx - cx)
    return ((adx <= r / 3) & (ady <= r)) | ((ady <= r / 3) & (adx <= r))


def _ring(yy, xx, cy, cx, r):
    dist2 = (yy - cy) ** 2 + (xx - cx) ** 2
    return (dist2 <= r * r) & (dist2 >= (0.55 * r) ** 2)


SHAPES: dict[str, ShapeFn] = {
    "circle": _circle, "square": _square, "triangle": _triangle, "diamond": _diamond, "star": _star,
    "cross": _cross, "ring": _ring,
}


def _darker(colour: tuple[int, int, int], factor: float = 0.6) -> np.ndarray:
    return (np.asarray(colour, dtype=np.float32) * factor).astype(np.uint8)


def _flat(height, width, colour, rng):
    return np.broadcast_to(np.asarray(colour, dtype=np.uint8), (height, width, 3)).copy()


def _stripes(height, width, colour, rng):
    period = int(rng.integers(4, 9))
    out = _flat(height, width, colour, rng)
    out[:, (np.arange(width) // period) % 2 == 1] = _darker(colour)
    return out


def _checker(height, width, colour, rng):
    cell = int(rng.integers(4, 9))
    yy, xx = np.mgrid[0:height, 0:width]
    out = _flat(height, width, colour, rng)
    out[((yy // cell) + (xx // cell)) % 2 == 1] = _darker(colour)
    return out


def _noise(height, width, colour, rng):
    noise = rng.normal(0.0, 25.0, (height, width, 1))
    return np.clip(np.asarray(colour, dtype=np.float32) + noise, 0, 255).astype(np.uint8)


def _dots(height, width, colour, rng):
    out = _flat(height, width, colour, rng)
    out[rng.random((height, width)) < 0.08] = _darker(colour, 0.4)
    return out


TEXTURES: dict[str, TextureFn] = {"flat": _flat, "stripes": _stripes, "checker": _checker, "noise": _noise, "dots": _dots}


@dataclass(frozen=True)
class ClassStyle:
    """How one class is drawn. kind: 'stuff' (background region) or 'thing' (a moving shape)."""

    kind: str
    colour: tuple[int, int, int]
    shape: str | ShapeFn = "circle"
    texture: str | TextureFn = "flat"

    def __post_init__(self) -> None:
        if self.kind not in ("stuff", "thing"):
            raise ConfigError(f"class style kind must be 'stuff' or 'thing', got '{self.kind}'")
        for value, table, what in ((self.shape, SHAPES, "shape"), (self.texture, TEXTURES, "texture")):
            if isinstance(value, str) and value not in table:
                raise ConfigError(f"unknown {what} '{value}': use one of {', '.join(table)} or a function")

    def shape_mask(self, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, radius: float) -> np.ndarray:
        """(H, W) bool: the pixels this thing covers when centred at (cy, cx) with size `radius`."""
        fn = SHAPES[self.shape] if isinstance(self.shape, str) else self.shape
        return np.asarray(fn(yy, xx, cy, cx, radius), dtype=bool)

    def paint(self, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
        """(H, W, 3) uint8 appearance of this class over a whole frame (shapes cut their pixels from it)."""
        fn = TEXTURES[self.texture] if isinstance(self.texture, str) else self.texture
        return np.asarray(fn(height, width, self.colour, rng), dtype=np.uint8)


def default_styles(class_names: Sequence[str], num_stuff: int = 2) -> tuple[ClassStyle, ...]:
    """The first `num_stuff` classes are stuff (textures), the others things (shapes). A name made of a
    colour and a shape word ('red circle') is drawn that way; other names get distinct palette choices."""
    stuff_textures = ("stripes", "checker", "noise", "dots")
    shapes, colours = list(SHAPES), list(COLOURS)
    styles = []
    for index, name in enumerate(class_names):
        words = name.lower().replace("_", " ").split()
        colour = next((COLOURS[w] for w in words if w in COLOURS), None)
        if index < num_stuff:
            texture = next((w for w in words if w in TEXTURES), stuff_textures[index % len(stuff_textures)])
            styles.append(ClassStyle("stuff", colour or STUFF_COLOURS[index % len(STUFF_COLOURS)], texture=texture))
        else:
            k = index - num_stuff
            shape = next((w for w in words if w in SHAPES), shapes[k % len(shapes)])
            styles.append(ClassStyle("thing", colour or COLOURS[colours[k % len(colours)]], shape=shape))
    return tuple(styles)
