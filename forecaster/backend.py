"""Import Keras (TensorFlow backend) once, without TensorFlow's C++ start-up chatter on stderr.

TensorFlow writes device-discovery lines ("Could not find cuda drivers", "oneDNN custom
operations are on", ...) through its C++ logger before TF_CPP_MIN_LOG_LEVEL takes effect
(tensorflow/tensorflow#100442), straight to file descriptor 2, where a user's terminal shows them
as if they were errors. Only that start-up is muted, and one warning meant for authors of
tf.function code; Python errors still raise as usual.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys


def keras():
    """The keras module, imported quietly the first time."""
    logging.getLogger("tensorflow").addFilter(_drop_retracing_advice)  # once; a no-op after
    if "keras" in sys.modules and "tensorflow" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _muted_stderr():
        import keras as module
        import tensorflow

        tensorflow.config.list_physical_devices()  # the CUDA probe, while muted
    from forecaster.distribution import split_cpu

    split_cpu(tensorflow)  # $FORECASTER_CPU_DEVICES logical CPUs, if set: before TF initialises
    return module


def _drop_retracing_advice(record: logging.LogRecord) -> bool:
    """False for TensorFlow's "N out of the last N calls to <function ...> triggered tf.function
    retracing" warning. TensorFlow counts traces by the function's code, so several models (each
    with its own predict function, traced once per batch shape) trip it, and `--scaling auto`
    trains three: advice about a user's own tf.function code, which a forecaster user has none of."""
    return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _muted_stderr():
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real file descriptor 2 (some notebooks, embedded use)
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def deterministic(seed: int, ops: bool = True) -> None:
    """Seed Python, NumPy and Keras, and (with `ops`) make TensorFlow's ops deterministic, so that
    the same data, settings and seed train the same model on the same machine. Without `ops` the
    seed still fixes the initial weights and batch order, but Keras may compile with XLA (it refuses
    to while deterministic ops are on), and results may differ in the last digits between runs."""
    keras().utils.set_random_seed(seed)
    import tensorflow

    if ops:
        tensorflow.config.experimental.enable_op_determinism()
    else:  # TensorFlow exports no switch back; a process may train both ways (the tests do)
        from tensorflow.python.framework import config

        config.disable_op_determinism()
