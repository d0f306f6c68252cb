"""forecaster: train an LSTM on a CSV time series, score it against baselines, forecast ahead.

The library is the product; the `forecaster` command line and the Makefile call these functions.
Modules that need Keras import it when they are used, so `import forecaster` stays fast.
"""

from forecaster.config import Settings, load_config
from forecaster.errors import UserError

__all__ = ["Settings", "UserError", "load_config"]
__version__ = "0.1.0"
