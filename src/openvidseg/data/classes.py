"""Class vocabularies of the supported datasets, in raw form (as the datasets write them) and cleaned
for prompts ("handrail_or_fence" -> "handrail or fence")."""
from __future__ import annotations

IGNORE_INDEX = 255  # label value that is never scored nor trained on
OTHERS_ID = 0  # VSPW's "others": ignored like 255

# VSPW: id = position + 1 (mask value 0 = others, 255 = ignore)
VSPW_CLASSES: tuple[str, ...] = (
    "wall", "ceiling", "door", "stair", "ladder", "escalator", "Playground_slide", "handrail_or_fence",
    "window", "rail", "goal", "pillar", "pole", "floor", "ground", "grass", "sand", "athletic_field", "road",
    "path", "crosswalk", "building", "house", "bridge", "tower", "windmill", "well_or_well_lid",
    "other_construction", "sky", "mountain", "stone", "wood", "ice", "snowfield", "grandstand", "sea", "river",
    "lake", "waterfall", "water", "billboard_or_Bulletin_Board", "sculpture", "pipeline", "flag",
    "parasol_or_umbrella", "cushion_or_carpet", "tent", "roadblock", "car", "bus", "truck", "bicycle",
    "motorcycle", "wheeled_machine", "ship_or_boat", "raft", "airplane", "tyre", "traffic_light", "lamp",
    "person", "cat", "dog", "horse", "cattle", "other_animal", "tree", "flower", "other_plant", "toy",
    "ball_net", "backboard", "skateboard", "bat", "ball", "cupboard_or_showcase_or_storage_rack", "box",
    "traveling_case_or_trolley_case", "basket", "bag_or_package",
    # ---- ids 81..124: the unseen classes of the OV2VSS split ----
    "trash_can", "cage", "plate", "tub_or_bowl_or_pot", "bottle_or_cup", "barrel", "fishbowl", "bed",
    "pillow", "table_or_desk", "chair_or_seat", "bench", "sofa", "shelf", "bathtub", "gun", "commode",
    "roaster", "other_machine", "refrigerator", "washing_machine", "Microwave_oven", "fan", "curtain",
    "textiles", "clothes", "painting_or_poster", "mirror", "flower_pot_or_vase", "clock", "book", "tool",
    "blackboard", "tissue", "screen_or_television", "computer", "printer", "Mobile_phone", "keyboard",
    "other_electronic_product", "fruit", "food", "instrument", "train",
)
NUM_VSPW_CLASSES = len(VSPW_CLASSES)
OV2VSS_NUM_SEEN = 80  # seen = ids 1..80, unseen = ids 81..124

# Cityscapes: the 19 evaluation classes (train ids 0..18) and the labelIds that map to them
CITYSCAPES_CLASSES: tuple[str, ...] = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)
CITYSCAPES_LABEL_TO_TRAIN_ID: dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
    27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}

# AVSBench-semantic (its label2idx.json): id 0 = background (a scored class), ids 1..70 = these, in order
AVSBENCH_BACKGROUND = "background"
AVSBENCH_CLASSES: tuple[str, ...] = (
    "accordion", "airplane", "axe", "baby", "bassoon", "bell", "bird", "boat", "boy", "bus", "car", "cat", "cello",
    "clarinet", "clipper", "clock", "dog", "donkey", "drum", "duck", "elephant", "emergency-car", "erhu", "flute",
    "frying-food", "girl", "goose", "guitar", "gun", "guzheng", "hair-dryer", "handpan", "harmonica", "harp",
    "helicopter", "hen", "horse", "keyboard", "leopard", "lion", "man", "marimba", "missile-rocket", "motorcycle",
    "mower", "parrot", "piano", "pig", "pipa", "saw", "saxophone", "sheep", "sitar", "sorna", "squirrel", "tabla",
    "tank", "tiger", "tractor", "train", "trombone", "truck", "trumpet", "tuba", "ukulele", "utv", "vacuum-cleaner",
    "violin", "wolf", "woman",
)
# OV-AVSS's split of AVSBench-semantic (the released evaluation): these 30 ids are novel, the other 40 base
OV_AVSS_NOVEL_IDS: tuple[int, ...] = (
    1, 3, 5, 13, 14, 15, 22, 23, 24, 25, 30, 32, 33, 34, 39, 42, 45, 49, 50, 51, 53, 54, 56, 57, 61, 64, 65, 66, 68, 69,
)

CLASS_NAME_FORMS = ("clean", "raw")


def clean_class_name(raw: str) -> str:
    """'handrail_or_fence' -> 'handrail or fence', 'Playground_slide' -> 'playground slide', 'hair-dryer' ->
    'hair dryer'."""
    return " ".join(raw.replace("_or_", " or ").replace("_", " ").replace("-", " ").split()).lower()


def class_names_in_form(raw_names: tuple[str, ...], form: str) -> tuple[str, ...]:
    """The names as prompts will see them: 'clean' (default) or 'raw' (verbatim, as the public code)."""
    if form == "raw":
        return tuple(raw_names)
    if form == "clean":
        return tuple(clean_class_name(n) for n in raw_names)
    from openvidseg.errors import ConfigError

    raise ConfigError(f"unknown class-name form '{form}': use one of {', '.join(CLASS_NAME_FORMS)}")
