"""Which device TensorFlow trains on: auto (GPU when present), cpu, or gpu."""
from __future__ import annotations

import functools
import os
import platform
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


X86 = platform.machine().lower() in ("x86_64", "amd64")  # where XLA can be told not to use FMA


def exact_arithmetic() -> None:
    """XLA's CPU code without fused multiply-adds (XLA_FLAGS --xla_cpu_max_isa=AVX, the widest
    x86 instruction set without FMA): LLVM contracts a*b + c into one rounding or not depending
    on how XLA fused the graph around it, so a trial's bits depended on which other trials
    shared its stack (a relu model beside tanh ones: weights 1e-7 apart). Without FMA every
    multiply and add rounds once, as the stacked engine's exactness argument assumes
    (engines/fused/blocks.py); it costs a few percent of training (BENCHMARKS.md). Left alone
    when XLA_FLAGS already names an instruction set, and off x86 (no such flag); it cannot take
    effect if XLA compiled something in this process before nnbin was imported."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_max_isa" not in flags and X86:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_max_isa=AVX".strip()


@functools.cache
def fma_contracted() -> bool:
    """Whether XLA's CPU code in this process fuses a*b + c into one rounding after all
    (exact_arithmetic came too late: XLA had compiled before nnbin was imported; or XLA_FLAGS
    names an instruction set with FMA): (1 + 2^-12)^2 - (1 + 2^-11) is 0 in float32 rounded
    twice and 2^-24 fused. One tiny compilation, once per process."""
    tf = import_tensorflow()
    with tf.device("/CPU:0"):
        a, c = tf.constant(1 + 2 ** -12, tf.float32), tf.constant(-(1 + 2 ** -11), tf.float32)
        return float(tf.function(lambda a, c: a * a + c, jit_compile=True)(a, c)) != 0.0


def use_compilation_cache() -> str | None:
    """With NNBIN_XLA_CACHE=DIR set, keep XLA's compiled graphs in DIR (TensorFlow's persistent
    cache), so that a rerun of the same stacks loads them instead of compiling again (same
    executables, same bits). Kept per machine (processor, TensorFlow version and XLA_FLAGS), so
    a directory shared by different hosts, or code compiled with other flags, is never handed
    over. Returns the directory, or None."""
    choice = os.environ.get("NNBIN_XLA_CACHE", "")
    if not choice or "tf_xla_persistent_cache_directory" in os.environ.get("TF_XLA_FLAGS", ""):
        return None
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    cpuinfo = Path("/proc/cpuinfo")
    processor = cpuinfo.read_text() if cpuinfo.exists() else platform.processor()
    processor = "".join(sorted({line for line in processor.splitlines()
                                if line.split(":")[0].strip() in ("model name", "flags", "cpu family", "model")}))
    flags = os.environ.get("XLA_FLAGS", "")
    key = hashlib.sha256(f"{platform.machine()} {processor} {version('tensorflow')} {flags}".encode()).hexdigest()[:12]
    directory = Path(choice).expanduser() / f"xla-{key}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:  # unwritable: compile as usual
        return None
    os.environ["TF_XLA_FLAGS"] = f"{os.environ.get('TF_XLA_FLAGS', '')} --tf_xla_persistent_cache_directory={directory}"
    return str(directory)


def import_tensorflow():
    """Import TensorFlow (and start its devices) with its C++ start-up lines (absl, CUDA probing,
    oneDNN) muted, unless the user set TF_CPP_MIN_LOG_LEVEL; returns the module. Every nnbin
    module that needs TensorFlow or Keras imports it through here first, so that Python use is
    as quiet as the CLI."""
    import nnbin

    exact_arithmetic()  # read when XLA first compiles: also after the user imported TensorFlow
    if "tensorflow" not in sys.modules:
        use_compilation_cache()
    if "tensorflow" in sys.modules or nnbin.USER_TF_LOG_LEVEL:
        import tensorflow as tf
    else:
        with quiet_native_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the device probe logs once more
    # "N out of the last N calls triggered tf.function retracing": the stacked engine traces one
    # graph per stack structure on purpose (searches whose rungs or batches differ in shape)
    tf.get_logger().setLevel("ERROR")
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
