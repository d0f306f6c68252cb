"""Training on several devices or machines: `--distribute none | mirrored | multiworker`.

    none         one device, as always
    mirrored     tf.distribute.MirroredStrategy over every local GPU (or, with none, every logical
                 CPU device): one replica per device, gradients summed across them each step
    multiworker  tf.distribute.MultiWorkerMirroredStrategy over the machines that the TF_CONFIG
                 environment variable lists, the same command run on each; one replica per local
                 GPU (or the CPU) of each worker

Data parallelism, synchronous: each replica runs the same model on its share of every batch, so
`--batch-size` stays the global batch (the number of windows per step, split across replicas) and
a distributed run trains the same model as a single-device one, up to float rounding: the gradient
is a sum over replicas instead of one sum over the batch. Up to rounding only when every batch
splits evenly, though: Keras takes the mean of the replicas' mean losses, so a batch that does not
(a --batch-size that is no multiple of the replicas, an epoch's last, partial batch) weighs its
windows unequally, and the losses it logs are means of means. --dropout masks differ as well.

With multiworker on a long file (`--id-col`), each worker reads only its own series instead
(`forecaster.sharing`): the batches are drawn from every series whatever the workers, each worker
computes the windows of its series in each batch (`Worker.dataset`, weighted so that the sum over
the workers is the batch's mean), and what the workers decide together travels by `Worker.gather`.

Only the chief (TF_CONFIG task "chief", or worker 0 when there is none) writes the bundle and the
--resume folder. Every other worker runs the same code, saving included (reading a synchronised
variable is a collective every worker must join), into a scratch folder that is deleted at the end.
A saved model is an ordinary Keras model: it loads and forecasts without any strategy.

For trying `mirrored` without several GPUs, FORECASTER_CPU_DEVICES=N splits the CPU into N logical
devices; it is applied by `forecaster.backend.keras()` when TensorFlow is first imported, the only
moment TensorFlow allows it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from forecaster.errors import UserError

CPU_DEVICES_VARIABLE = "FORECASTER_CPU_DEVICES"  # N: split the CPU into N logical devices


def split_cpu(tensorflow) -> None:
    """Split the CPU into $FORECASTER_CPU_DEVICES logical devices, if that is set. TensorFlow accepts
    this only before it initialises its devices, so `backend.keras()` calls it right after import."""
    value = os.environ.get(CPU_DEVICES_VARIABLE, "").strip()
    if not value:
        return
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"{CPU_DEVICES_VARIABLE} is {value!r}; expected a whole number of at least 1 "
                        f"(the logical CPU devices to create), or leave it unset.")
    cpu = tensorflow.config.list_physical_devices("CPU")[0]
    try:
        tensorflow.config.set_logical_device_configuration(
            cpu, [tensorflow.config.LogicalDeviceConfiguration()] * int(value))
    except RuntimeError:  # TensorFlow was initialised before forecaster imported it
        raise UserError(
            f"{CPU_DEVICES_VARIABLE}={value} came too late: TensorFlow had already set up its "
            f"devices in this process. Set it before the process starts, and run forecaster before "
            f"any other TensorFlow code.") from None


@dataclass
class Worker:
    """This process's part in training: its strategy (None for --distribute none), how many replicas
    train in step, and whether it is the chief, which alone writes to --model-dir."""

    kind: str  # none | mirrored | multiworker
    strategy: object | None  # tf.distribute.Strategy
    replicas: int = 1  # replicas in sync, over all workers
    workers: int = 1
    index: int = 0  # this worker's place among them (task index)
    chief: bool = True
    devices: tuple = ()  # this worker's devices

    def scope(self):
        """The context in which models must be built (and loaded, to continue training) to train
        distributed; model.fit needs no scope after that."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    @contextlib.contextmanager
    def writing(self, path):
        """Yield where this process should write what belongs at `path`: `path` itself on the chief;
        on any other worker the same name in a scratch folder, deleted when the block ends."""
        path = Path(path)
        if self.chief:
            yield path
            return
        scratch = Path(tempfile.mkdtemp(prefix=f"forecaster-worker{self.index}-"))
        try:
            yield scratch / path.name
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def prepare(self, model):
        """Make `model`, just built (or loaded) in `scope()`, ready for model.fit; returns it.

        Keras 3.15's fit, evaluate and predict first build a distributed model's metrics and
        optimizer from the first batch averaged over the replicas (strategy.reduce("MEAN", batch)),
        which fails when the replicas' shares of it differ in size, and always under
        MultiWorkerMirroredStrategy (keras-team/keras#20585). Here everything is built from a batch
        of zeros instead (test_on_batch: no training step, the weights are untouched) and Keras's
        build step, then a no-op, is skipped.
        """
        if self.strategy is None:
            return model
        import numpy as np

        inputs = np.zeros((self.replicas, *model.input_shape[1:]), "float32")
        targets = np.zeros((self.replicas, *model.output_shape[1:]), "float32")
        model.test_on_batch(inputs, targets)
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
        return model

    def unwrap(self, model):
        """`model`, trained under the strategy, as an ordinary Keras model that knows no strategy:
        the same architecture, weights and optimizer state, rebuilt outside the strategy's scope
        through a .keras file. What the bundle holds, and what scores the model: Keras 3.15's
        predict_on_batch on a model built in a MirroredStrategy's scope runs the whole batch on every
        replica and returns all their outputs (replicas x rows). Every worker must call it alike:
        saving reads synchronised variables, a collective operation."""
        if self.strategy is None:
            return model
        from forecaster.models import load_model

        with tempfile.TemporaryDirectory(prefix="forecaster-unwrap-") as scratch:
            path = Path(scratch) / "model.keras"
            model.save(path)
            return load_model(path)

    def gather(self, value) -> list:
        """Every worker's `value` (any picklable object), in worker order: [value] alone. A
        collective operation: every worker must call it, in the same order."""
        if self.kind != "multiworker":
            return [value]
        import pickle

        import numpy as np
        import tensorflow

        def everyone(array: np.ndarray) -> np.ndarray:  # (workers * n,) from each worker's (n,)
            values = self.strategy.experimental_distribute_values_from_function(
                lambda context: tensorflow.constant(array))
            return self.strategy.gather(values, axis=0).numpy()

        data = np.frombuffer(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)
        sizes = everyone(np.array([len(data)], dtype=np.int64))
        padded = np.zeros(-(-int(sizes.max()) // 8) * 8, dtype=np.uint8)  # whole int64s
        padded[:len(data)] = data
        found = everyone(padded.view(np.int64)).view(np.uint8).reshape(len(sizes), -1)
        step = len(sizes) // self.workers  # each worker's replicas gave the same value
        return [pickle.loads(found[k, :sizes[k]].tobytes()) for k in range(0, len(sizes), step)]

    def dataset(self, batches_of, functions, shapes, epoch: int = 0, endless: bool = True):
        """The windows this worker holds of every batch, for model.fit: `batches_of(epoch)` gives
        [(this worker's origins in a batch, the windows in that batch over every worker)]
        (`forecaster.windows.shared_steps`), `functions` = (read, encode) make the windows, of
        `shapes` = (inputs' shape, targets' shape) each.

        Each replica gets its part of each batch padded to the epoch's largest part on any
        worker, with weights (replicas x rows / the batch's windows; 0 on the padding) under which
        the sum of the replicas' losses, and of their gradients, is the mean over the whole batch,
        whichever worker holds which window; Keras's running means of the loss and of the
        (weighted) metrics, summed over the workers, are then the means over the batches too.
        From the `epoch`-th epoch on, endlessly; or one pass. Returns (the dataset, a function
        that lets go of the windows' origins once training is over: TensorFlow keeps the
        generator alive after model.fit)."""
        import numpy as np
        import tensorflow

        held = {"batches_of": batches_of, "functions": functions}
        here = max(1, self.replicas // self.workers)  # this worker's replicas

        def elements():
            number = epoch
            read, encode = held["functions"]
            while True:
                parts, most = held["batches_of"](number)
                size = max(1, -(-most // here))
                for origins, total in parts:
                    for piece in np.array_split(origins, here):
                        inputs = np.zeros((size, *shapes[0]), np.float32)
                        targets = np.zeros((size, *shapes[1]), np.float32)
                        weights = np.zeros(size, np.float32)
                        if len(piece):
                            inputs[:len(piece)], targets[:len(piece)] = read(piece), encode(piece)
                            weights[:len(piece)] = self.replicas * size / total
                        yield inputs, targets, weights
                if not endless:
                    return
                number += 1

        signature = (tensorflow.TensorSpec((None, *shapes[0]), tensorflow.float32),
                     tensorflow.TensorSpec((None, *shapes[1]), tensorflow.float32),
                     tensorflow.TensorSpec((None,), tensorflow.float32))
        return self.strategy.distribute_datasets_from_function(
            lambda context: tensorflow.data.Dataset.from_generator(
                elements, output_signature=signature).prefetch(2)), held.clear

    def describe(self) -> dict:
        """For the bundle's metadata: how the model was trained."""
        return {"distribute": self.kind, "replicas": self.replicas, "workers": self.workers,
                "devices": list(self.devices)}

    def note(self, batch_size: int, series: tuple[int, int] | None = None) -> str:
        """One line for the user about a distributed run; `series` = (this worker's, the file's)
        when each worker read only its own series."""
        where = (f"{self.workers} workers; this is worker {self.index}{', the chief' if self.chief else ''}"
                 if self.kind == "multiworker" else ", ".join(self.devices))
        share, rest = divmod(batch_size, self.replicas)
        text = (f"--distribute {self.kind}: trained on {self.replicas} replicas in sync ({where}); "
                f"--batch-size {batch_size} is the global batch, ")
        if series is None:
            text += f"{share}{f' or {share + 1}' if rest else ''} windows per replica."
        else:
            text += (f"drawn from every series; this worker read {series[0]} of the {series[1]} "
                     f"series (those whose id hashes to it) and computed the windows of theirs.")
        if not self.chief:
            text += " Only the chief saves the bundle; this worker's copy was discarded."
        return text


def start(kind: str, resume: bool = False) -> Worker:
    """This process's Worker for `--distribute kind`, its strategy created on the first call.

    Call it before TensorFlow runs anything: MultiWorkerMirroredStrategy configures collective
    operations, which TensorFlow accepts only at start-up, and a process has one such configuration,
    so the Worker is made once per process and kind and reused. Refuses --resume with multiworker.
    """
    if kind == "multiworker" and resume:
        raise UserError(
            "--resume is not supported with --distribute multiworker: the workers would have to "
            "agree on where to continue. Run the same command without --resume on every worker.")
    return _worker(kind)


@functools.cache
def _worker(kind: str) -> Worker:
    if kind == "none":
        return Worker("none", None)
    if kind not in ("mirrored", "multiworker"):
        raise ValueError(f"unknown distribution {kind!r}; expected none, mirrored or multiworker.")
    # TF_CONFIG is checked first, so that a mistake in it is reported before TensorFlow starts.
    cluster, task_type, task_index = _cluster() if kind == "multiworker" else ({}, None, 0)
    from forecaster import backend

    backend.keras()  # TensorFlow, imported as forecaster does it (and the CPU split, if asked for)
    import tensorflow

    if kind == "mirrored":
        devices = ([d.name for d in tensorflow.config.list_logical_devices("GPU")]
                   or [d.name for d in tensorflow.config.list_logical_devices("CPU")])
        strategy = tensorflow.distribute.MirroredStrategy(devices)
        return Worker(kind, strategy, strategy.num_replicas_in_sync, devices=tuple(devices))
    try:
        strategy = tensorflow.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:  # "Collective ops must be configured at program startup"
        raise UserError(
            f"--distribute multiworker must be set up before TensorFlow runs anything in the process "
            f"({error}); run `forecaster train` as a process of its own on each worker.") from None
    _average_scalar_logs_over_workers(tensorflow)
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    chief = task_type == "chief" or (task_type == "worker" and task_index == 0 and "chief" not in cluster)
    index = task_index + (len(cluster.get("chief", [])) if task_type == "worker" else 0)
    return Worker(kind, strategy, strategy.num_replicas_in_sync, workers, index, chief,
                  tuple(strategy.extended.worker_devices))


def _cluster() -> tuple[dict, str, int]:
    """The cluster, task type and task index from TF_CONFIG, checked, with a message that says how
    to write it."""
    example = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}')
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        raise UserError(
            f"--distribute multiworker needs the TF_CONFIG environment variable on every worker, "
            f"such as TF_CONFIG='{example}' (index 1 on the second machine); on one machine, use "
            f"--distribute mirrored.")
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, task_index = task["type"], task["index"]
        members = cluster.get(task_type)
        valid = (isinstance(task_index, int) and not isinstance(task_index, bool)
                 and isinstance(members, list) and 0 <= task_index < len(members)
                 and task_type in ("chief", "worker"))
    except (ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        raise UserError(
            f"TF_CONFIG is {text!r}; expected JSON naming the cluster's workers and this task, "
            f"such as '{example}', with the task a \"worker\" (or \"chief\") in the list.")
    return cluster, task_type, task_index


def _average_scalar_logs_over_workers(tensorflow) -> None:
    """Let Keras 3 average a step's logs over the workers of a MultiWorkerMirroredStrategy.

    Keras 3.15 (since 3.0: keras-team/keras#20585, tensorflow/tensorflow#72388) reduces the loss and
    metrics of each train and test step with strategy.reduce("MEAN", value, axis=0), which fails on
    those scalars ("Invalid reduction dimension 0 for input with 0 dimensions"), so model.fit cannot
    run at all. This wraps the module function Keras calls so that a scalar is averaged over the
    workers with axis=None; everything else goes to Keras's own function unchanged. Done once per
    process, only for --distribute multiworker.
    """
    from keras import tree
    from keras.src.backend.tensorflow import trainer

    keras_reduce = getattr(trainer, "reduce_per_replica", None)
    if keras_reduce is None:
        raise RuntimeError("this Keras has no keras.src.backend.tensorflow.trainer.reduce_per_replica; "
                           "check whether forecaster.distribution's fix for multi-worker logs is still "
                           "needed, and adapt it.")
    if getattr(keras_reduce, "averages_scalars_over_workers", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not isinstance(
                strategy, tensorflow.distribute.MultiWorkerMirroredStrategy):
            return keras_reduce(values, strategy, reduction)

        def reduce(value):
            if strategy.experimental_local_results(value)[0].shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return keras_reduce(value, strategy, reduction)

        return tree.map_structure(reduce, values)

    reduce_per_replica.averages_scalars_over_workers = True
    trainer.reduce_per_replica = reduce_per_replica
