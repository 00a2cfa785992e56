"""Names the command line needs before any network is built (no torch import here)."""

from __future__ import annotations

#: Environment variable naming a folder that holds the released ``*.model`` files.
WEIGHTS_ENV = "IVIF_WEIGHTS"

#: Released file name of each model that has released weights.
RELEASED_FILES: dict[str, str] = {
    "cnn": "CNN.model",
    "transformer": "Trans.model",
    "gan": "GAN.model",
}

#: Models that ``ivifmodels train`` trains (the keys of ``ivifmodels.train.OBJECTIVES``).
TRAINABLE = ("cnn", "gan", "transformer")

#: Output mappings of :func:`ivifmodels.fuse.to_uint8`.
OUTPUT_MODES = ("stretch", "clip")

#: Default time between checkpoints of ``ivifmodels train`` (minutes).
DEFAULT_CHECKPOINT_MINUTES = 5

#: ``format`` of the training checkpoint ``last.pt`` written by ``ivifmodels train``.
TRAIN_CHECKPOINT_FORMAT = "ivif-train-1"
