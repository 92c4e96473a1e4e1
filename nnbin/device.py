"""Which device TensorFlow trains on: auto (GPU when present), cpu, or gpu."""
from __future__ import annotations

from nnbin.errors import ConfigError


def configure_device(choice: str = "auto") -> str:
    """Apply the device choice before any model is built; return what is used, in words."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if choice == "gpu" and not gpus:
        raise ConfigError("device: gpu, but TensorFlow sees no GPU; set device: auto or cpu, "
                          "or install the GPU build (pip install 'nnbin[gpu]')")
    if choice == "cpu" or not gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:  # devices already initialized in this process
            pass
        return "cpu"
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            pass
    return f"gpu ({len(gpus)}: {', '.join(g.name for g in gpus)})"
