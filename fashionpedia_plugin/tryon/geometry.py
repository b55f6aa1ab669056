"""Photos and masks brought to a consumer's fixed size without stretching, and back.

VITON-HD (``datasets.py``, ``VITONDataset.__getitem__``) resizes the short side to 768 and then
needs exactly 768 x 1024; IDM-VTON (``inference.py``, ``VitonHDTestDataset``) does not resize the
cloth or the DensePose image at all. So every file of those layouts is written at 768 x 1024:
the photo scaled by one factor to fit (aspect kept) and padded to the size, centred. Pixels
(our choice, as the consumers' own data): photos and cloth padded white, masks and label maps
padded 0 (background); masks and label maps resized nearest-neighbour, photos with area/linear
interpolation. :class:`Letterbox` is recorded per photo in the garment JSON
(``geometry``), so that a mask of the consumer's size maps back to the photo
(:meth:`Letterbox.to_source`).
"""
from dataclasses import asdict, dataclass

import cv2
import numpy as np

CONSUMER_SIZE = (768, 1024)  # width, height of VITON-HD and IDM-VTON (and DressCode's release)


@dataclass(frozen=True)
class Letterbox:
    """``source (w, h)`` -> ``size (W, H)``: scale ``s`` = min(W / w, H / h), the scaled photo
    ``(round(w s), round(h s))`` placed at ``(left, top)``; the rest is padding."""
    source: tuple
    size: tuple
    scale: float
    left: int
    top: int
    width: int  # of the scaled photo inside the frame
    height: int

    @classmethod
    def fit(cls, source_wh, size_wh=CONSUMER_SIZE):
        w, h = source_wh
        W, H = size_wh
        s = min(W / w, H / h)
        sw, sh = min(W, max(1, int(round(w * s)))), min(H, max(1, int(round(h * s))))
        return cls(tuple(source_wh), tuple(size_wh), s, (W - sw) // 2, (H - sh) // 2, sw, sh)

    def apply(self, arr, nearest=False, pad=0):
        """``arr`` (h, w[, C]) of the source size -> (H, W[, C]) of the frame."""
        W, H = self.size
        if nearest:  # pixel-centre exact: a map scaled up and back is the map again
            interp = cv2.INTER_NEAREST_EXACT
        else:
            interp = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
        scaled = cv2.resize(arr, (self.width, self.height), interpolation=interp)
        out = np.full((H, W) + arr.shape[2:], pad, arr.dtype)
        out[self.top:self.top + self.height, self.left:self.left + self.width] = scaled
        return out

    def to_source(self, arr):
        """A mask or label map of the frame (H, W) -> the source photo's (h, w), nearest."""
        inner = arr[self.top:self.top + self.height, self.left:self.left + self.width]
        return cv2.resize(inner, tuple(self.source), interpolation=cv2.INTER_NEAREST_EXACT)

    def to_json(self):
        d = asdict(self)
        d['source'], d['size'] = list(self.source), list(self.size)
        return d
