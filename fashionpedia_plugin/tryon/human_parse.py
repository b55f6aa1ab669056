"""Body regions from a human parser, garment regions from our model: one consumer parse map.

Try-on models read body regions (head, arms, legs, neck) from the parse map: VITON-HD's
``get_parse_agnostic``/``get_img_agnostic`` keep the head (4, 13) and the lower body (9, 12,
16-19) and erase the arms (14, 15); DressCode's loader takes the head from ATR ids 1, 2, 3, 11.
Our model segments garments, not bodies, so ``--human-parse DIR`` reads one label map per photo
(``DIR/NAME.png``, CIHP/LIP ids 0-19, as Self-Correction-Human-Parsing and CIHP_PGN write them;
for CIHP id 10 is torso skin, for LIP jumpsuits: both are treated as CIHP, VITON-HD's
convention) and :func:`combine` merges it with ours.

Rule (our choice): start from the human parser's map; wherever our model puts a garment,
accessory or part label, ours wins (it is the segmentation the try-on cuts with); where only
the parser sees clothing, its label stays (a missed garment is still clothing, not skin).
Without ``--human-parse`` the maps hold garments only, and the run says so.
"""
import os.path as osp

import numpy as np
from PIL import Image

# CIHP/LIP id -> DressCode (ATR, aimagelab/dress-code data/labelmap.py) id, for the body and
# clothing regions of a human parser's map. Our choices where ATR has no such label: glove and
# socks -> 0 (background), torso skin / neck -> 11 (head: the skin above the garment), coat ->
# upper clothes (4), jumpsuit (LIP's 10) is read as CIHP's torso skin.
CIHP_TO_ATR = {
    0: 0,
    1: 1,
    2: 2,
    3: 0,
    4: 3,
    5: 4,
    6: 7,
    7: 4,
    8: 0,
    9: 6,
    10: 11,
    11: 17,
    12: 5,
    13: 11,
    14: 14,
    15: 15,
    16: 12,
    17: 13,
    18: 9,
    19: 10
}
CIHP_CLOTHING = (5, 6, 7, 9, 12)  # upper-clothes, dress, coat, pants, skirt


class HumanParseError(ValueError):
    """A human-parse map that is missing or does not fit its photo."""


def read_human_parse(parse_dir, stem, shape):
    """``parse_dir/stem.png`` as CIHP ids (uint8, ``shape``); raises :class:`HumanParseError`
    naming the file when it is missing, of another size, or has ids above 19."""
    path = osp.join(parse_dir, f'{stem}.png')
    if not osp.isfile(path):
        raise HumanParseError(f'human parse {path}: not found (one PNG per photo, named after it)')
    arr = np.array(Image.open(path))
    if arr.ndim != 2:
        raise HumanParseError(f'human parse {path}: expected a label map (mode L or P), got an '
                              f'image with {arr.shape[2]} channels')
    if arr.shape != tuple(shape):
        raise HumanParseError(f'human parse {path}: {arr.shape[1]} x {arr.shape[0]}, the photo is '
                              f'{shape[1]} x {shape[0]}')
    if arr.max() > 19:
        raise HumanParseError(f'human parse {path}: id {int(arr.max())} is not a CIHP/LIP id '
                              f'(0-19)')
    return arr.astype(np.uint8)


def to_atr(cihp):
    """CIHP ids -> DressCode/ATR ids (:data:`CIHP_TO_ATR`)."""
    lut = np.zeros(256, np.uint8)
    for k, v in CIHP_TO_ATR.items():
        lut[k] = v
    return lut[cihp]


def combine(ours, human):
    """Our label map over the human parser's (same id space): see the module docstring."""
    if human is None:
        return ours
    out = human.copy()
    out[ours > 0] = ours[ours > 0]
    return out


def person_fraction(mask, human):
    """Fraction of a garment ``mask`` on the parser's person (non-background) pixels."""
    area = int(mask.sum())
    return float((mask & (human > 0)).sum()) / area if area else 0.0
