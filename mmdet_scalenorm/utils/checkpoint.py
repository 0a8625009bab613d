"""Let mmengine 0.10.7 load its own checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7's
``CheckpointLoader`` calls ``torch.load`` without the argument, and its checkpoints hold pickled
``HistoryBuffer`` / numpy objects in ``meta.message_hub``, so ``--resume`` and ``tools/test.py``
fail with "Weights only load failed".  Our entry points (tools/train.py, tools/test.py and the
inference API), which load checkpoints the user names, opt back into full unpickling through
torch's own switch ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (it only applies where the caller did not
pass ``weights_only``).  Load only checkpoints you trust, as with any pickle.
"""
import os
import warnings


def allow_full_checkpoint_load() -> None:
    """Set ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` unless the user chose a value already."""
    os.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    warnings.filterwarnings(
        'ignore', message='Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected')
