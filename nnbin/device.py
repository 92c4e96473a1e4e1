"""Which device TensorFlow trains on: auto (GPU when present), cpu, or gpu."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

from nnbin.errors import ConfigError


@contextmanager
def quiet_native_stderr():
    """TensorFlow's C++ start-up logs (CUDA probing, CPU features) bypass Python: mute fd 2."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow (and start its devices) with its C++ start-up lines (absl, CUDA probing,
    oneDNN) muted, unless the user set TF_CPP_MIN_LOG_LEVEL; returns the module. Every nnbin
    module that needs TensorFlow or Keras imports it through here first, so that Python use is
    as quiet as the CLI."""
    import nnbin

    if "tensorflow" in sys.modules or nnbin.USER_TF_LOG_LEVEL:
        import tensorflow as tf

        return tf
    with quiet_native_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")  # the device probe logs once more
    return tf


def configure_device(choice: str = "auto", deterministic: bool = False) -> str:
    """Apply the device choice before any model is built; return what is used, in words.

    deterministic: make GPU kernels deterministic too (slower); CPU runs already are.
    """
    tf = import_tensorflow()
    with quiet_native_stderr():
        gpus = tf.config.list_physical_devices("GPU")
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    if choice == "gpu" and not gpus:
        raise ConfigError("device: gpu, but TensorFlow sees no GPU; set device: auto or cpu, "
                          "or install the GPU build (pip install -e '.[gpu]')")
    if choice == "cpu" or not gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # devices already initialized in this process: the GPU stays in use
            visible = tf.config.get_visible_devices("GPU")
            if visible:
                return (f"gpu ({len(visible)}: {', '.join(g.name for g in visible)}; device: cpu "
                        "could not be applied because TensorFlow had already started on the GPU "
                        "in this process)")
        return "cpu"
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
    return f"gpu ({len(gpus)}: {', '.join(g.name for g in gpus)})"
