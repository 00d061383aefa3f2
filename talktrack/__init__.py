"""talktrack: a self-hosted AI sales voice agent that listens first, qualifies, answers and books."""

import os as _os

# Every call runs its own small numpy/ONNX/CTranslate2 jobs in worker threads; a multi-threaded
# BLAS under them only fights the other calls for the same cores (measured on 2 cores: STT
# 73 -> 49 ms, Smart Turn 71 -> 29 ms with one BLAS thread). Must be set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

from talktrack.errors import ConfigError, MediaError, ModelMissingError, TalkTrackError  # noqa: E402
from talktrack.settings import Settings  # noqa: E402

__all__ = ["ConfigError", "MediaError", "ModelMissingError", "Settings", "TalkTrackError", "__version__"]
__version__ = "0.1.0"
