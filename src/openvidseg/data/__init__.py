"""Data: dataset class vocabularies, seen/unseen splits and evaluation protocols."""
from openvidseg.data.classes import (
    CITYSCAPES_CLASSES, IGNORE_INDEX, NUM_VSPW_CLASSES, VSPW_CLASSES, class_names_in_form, clean_class_name,
)
from openvidseg.data.splits import (
    BACKGROUND, PROTOCOLS, ClassSplit, EvalProtocol, all_seen_split, load_split, ov2vss_split, split_from_seen_names,
)

__all__ = [
    "BACKGROUND", "CITYSCAPES_CLASSES", "IGNORE_INDEX", "NUM_VSPW_CLASSES", "PROTOCOLS", "VSPW_CLASSES",
    "ClassSplit", "EvalProtocol", "all_seen_split", "class_names_in_form", "clean_class_name", "load_split",
    "ov2vss_split", "split_from_seen_names",
]
