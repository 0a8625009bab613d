"""Image loading that skips a corrupt training image instead of stopping the run.

``LoadImageFromFileOrSkip`` is mmcv's ``LoadImageFromFile`` except that an image that cannot be
read or decoded (missing file, truncated or non-image bytes) is reported with a warning that names
the file, counted, and answered with ``None``, so mmengine's dataset fetches another sample
(``BaseDataset.__getitem__`` retries up to ``max_refetch`` times).  Use it in training pipelines;
test/val datasets refuse ``None``, so there mmcv's loader (which names the file too) is right.
"""
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log

from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromFileOrSkip(LoadImageFromFile):
    """``LoadImageFromFile`` that skips (and counts) images that fail to load.

    Attributes:
        skipped (dict): class-level ``{img_path: count}`` of the skips in this process.
    """

    skipped: dict = {}

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            out = super().transform(results)
        except Exception as e:  # noqa: BLE001  (any read/decode failure is the same case)
            reason = f'{type(e).__name__}: {e}'
        else:
            if out is not None:
                return out
            reason = 'could not be read'
        counts = LoadImageFromFileOrSkip.skipped
        counts[filename] = counts.get(filename, 0) + 1
        print_log(
            f'skipping corrupt training image {filename} ({reason}); '
            f'{len(counts)} distinct image(s) skipped so far in this process',
            logger='current', level=30)
        return None

    def __repr__(self):
        return super().__repr__().replace('LoadImageFromFile', type(self).__name__, 1)
