"""How the stacked engine runs: trials grouped into stacks (`stacks_of`: by depth, optimizer,
batch size and width class), a few stacks per compiled call, the compiled functions kept and
reused (and counted) across calls of the same static structure, calls run in chunks of epochs
to report progress, two calls in flight so that one compiles while another trains (a lone large
stack as two halves), and the trials it cannot train handed to the plain engine."""
from __future__ import annotations

import threading
import time
import warnings
from collections import OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

import numpy as np

from nnbin.device import X86, fma_contracted, import_tensorflow

tf = import_tensorflow()

from nnbin.core.trials import Trial, TrainedTrial  # noqa: E402
from nnbin.engines.folds import FoldData  # noqa: E402
from nnbin.engines.fused.blocks import COMPILE_COST, hidden_widths, training_cost, width_classes  # noqa: E402
from nnbin.engines.fused.model import StackedMLP, to_keras  # noqa: E402
from nnbin.engines.fused.stack_data import StackedFit  # noqa: E402
from nnbin.engines.keras_engine import balanced_class_weight, train_trials as keras_trials  # noqa: E402

FUSED_OPTIMIZERS = ("sgd", "rmsprop", "adam")
MAX_GROUP = 256       # models per stack; larger groups are split
STACKS_PER_CALL = 4   # stacks compiled and trained together (one XLA compilation); progress per call
CONCURRENT_CALLS = 2  # calls in flight: XLA compiles one call on one core while another trains
PROGRESS_SECONDS = 1.0  # with a progress callback, a call reports its epochs about this often

Progress = Callable[[dict], None]  # {trial id: share of its epochs done, 0 to 1}, as training goes


def group_key(trial: Trial) -> tuple:
    """Trials with the same key can be trained as one stack."""
    spec = trial.hyper.spec()
    return len(spec.hidden), spec.optimizer, trial.hyper.batch_size


def supports(trial: Trial) -> bool:
    return trial.hyper.optimizer in FUSED_OPTIMIZERS


def _class_weights(data: StackedFit, y: np.ndarray) -> np.ndarray:
    weights = [balanced_class_weight(y[rows.fit]) for rows in data.sets]
    return np.array([[weights[s][0], weights[s][1]] if t.hyper.class_weight == "balanced" else [1.0, 1.0]
                     for t, s in zip(data.trials, data.set_of_model)])


def _shared_table(folds: FoldData) -> dict:
    """The encoded table and labels as tensors, made once per FoldData."""
    if "fused_table" not in folds.engine_state:
        folds.engine_state["fused_table"] = {
            "table": tf.constant(folds.table().values),
            "y": tf.constant(np.asarray(folds.labels, np.float32))}
    return folds.engine_state["fused_table"]


_COMPILED: OrderedDict = OrderedDict()  # static structure of a call -> its tf.function
_COMPILED_LOCK = threading.Lock()
_TRACE_LOCK = threading.Lock()  # one call traces at a time (see _run)
COMPILED_KEPT = 64
_TRACES = [0]  # graphs traced (each compiled once by XLA) in this process


def compilations() -> int:
    """How many graphs the stacked engine has traced and compiled in this process so far (a
    call's chunks of epochs, and later calls of the same structure and shapes, reuse one)."""
    return _TRACES[0]


def _traced(stacks: list):
    def call(states, until, inputs):  # runs once per trace
        _TRACES[0] += 1
        return [s._train_graph(state, until, *a) for s, state, a in zip(stacks, states, inputs)]
    return call


def _compiled(stacks: list, jit_compile: bool):
    """The call's compiled function, reused by any later call of the same static structure
    (architectures, stack sizes, steps, features used): tf.function keeps a compiled graph per
    input shape, so equal shapes compile once (repeated runs, resumed runs, workers, and every
    chunk of epochs of a call)."""
    key = (jit_compile, *(stack.static_key() for stack in stacks))
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            _COMPILED[key] = tf.function(_traced(stacks), jit_compile=jit_compile, autograph=False)
        _COMPILED.move_to_end(key)
        while len(_COMPILED) > COMPILED_KEPT:
            _COMPILED.popitem(last=False)
        return _COMPILED[key]


def next_chunk(epochs: int, seconds: float) -> int:
    """Epochs for the next compiled call, from the last call's epochs and seconds: about
    PROGRESS_SECONDS a call, growing at most 4x a call (the first call also compiles)."""
    return max(1, min(4 * epochs, int(epochs * PROGRESS_SECONDS / max(seconds, 1e-3))))


def _run(stacks: list, inputs: list, groups: list, jit_compile: bool, progress: Progress | None) -> list:
    """Run the stacks' compiled call to the end: (state, final weights and probabilities) per stack.
    Without `progress`, in one call; with it, in chunks of epochs (same compiled function, same
    bits), reporting each trial's share of its epochs after each chunk."""
    function = _compiled(stacks, jit_compile)
    states = [stack.start(a[0]) for stack, a in zip(stacks, inputs)]
    last = max(int(stack.epochs.max()) for stack in stacks)
    chunk = 1 if progress else last
    until = chunk
    # tracing is Python (it holds the GIL): two calls tracing at once both finish late, so one
    # traces at a time and XLA compiles it (without the GIL) while the next one traces
    with _TRACE_LOCK:
        function.get_concrete_function(states, tf.constant(until, tf.int32), inputs)
    while True:
        began = time.perf_counter()
        outputs = function(states, tf.constant(until, tf.int32), inputs)
        states = [state for state, _ in outputs]
        if until >= last:
            return outputs
        shares = [stack.progress(state) for stack, state in zip(stacks, states)]
        progress({trial.id: float(share[k]) for trials, share in zip(groups, shares)
                  for k, trial in enumerate(trials)})
        if all(share.min() >= 1 for share in shares):  # every model stopped: the last call only finishes
            until = last
        else:
            chunk = next_chunk(chunk, time.perf_counter() - began)
            until = min(until + chunk, last)


def train_groups(groups: list[list[Trial]], folds: FoldData, keep_models: bool = False,
                 jit_compile: bool = True, progress: Progress | None = None,
                 shapes: list | None = None) -> list[TrainedTrial]:
    """Train several same-depth groups, each as one stack, in one compiled call (one XLA
    compilation for all of them); one result per trial. progress: see `_run`. shapes: per group,
    None or (models, widest) to train it as a stack of that many models (copies of its last
    trial, discarded, fill it) padded to those widths: the halves of a split stack."""
    start = time.perf_counter()
    table, has_missing = _shared_table(folds), folds.table().has_missing
    n_features = folds.table().values.shape[1]
    stacks, inputs, datasets = [], [], []
    for trials, shape in zip(groups, shapes or [None] * len(groups)):
        # XLA drops a batch axis of size 1 and then multiplies matrices in another order: a lone
        # trial is stacked with a copy of itself (discarded) so that its results are bit-identical
        # to those it gets in any other stack
        size, widest = shape or (max(len(trials), 2), None)
        data = StackedFit.build(trials + trials[-1:] * (size - len(trials)), folds)
        stack = StackedMLP(data, n_features, has_missing, widest)
        stacks.append(stack)
        datasets.append(data)
        inputs.append(stack.inputs(table, _class_weights(data, folds.labels)))
    outputs = _run(stacks, inputs, groups, jit_compile, progress)
    seconds = (time.perf_counter() - start) / sum(len(g) for g in groups)
    results = []
    for stack, data, (state, final), trials in zip(stacks, datasets, outputs, groups):
        outcome = stack.finish(state, final)
        n_val = data.n("validation")
        for k, trial in enumerate(trials):
            y_prob = outcome.probabilities[k, :n_val[k]].astype(np.float64)
            logits = outcome.logits[k, :n_val[k]].astype(np.float64)
            epochs, curve = outcome.curves[k]
            status = "ok"
            if outcome.diverged[k] or not np.all(np.isfinite(y_prob)):
                y_prob, logits, status = np.full(n_val[k], np.nan), np.full(n_val[k], np.nan), "diverged"
            weights = stack.weights(k)
            model = to_keras(trial, weights, n_features) if keep_models else None
            results.append(TrainedTrial(trial, y_prob, outcome.history[k], int(outcome.epochs_run[k]), seconds,
                                       status, model, weights, best_epoch=int(outcome.best_epoch[k]),
                                       batch_end=False, curve=(epochs, curve[:, :n_val[k]]), logits=logits))
        stack.release()
    results[-1].batch_end = True
    return results


def stacks_of(trials: Iterable[Trial]) -> tuple[list[list[Trial]], list[Trial]]:
    """Split trials into stacks (same group key, widths of one scale, at most MAX_GROUP models)
    and the trials the fused engine cannot train."""
    groups: dict = defaultdict(list)
    plain = []
    for trial in trials:
        (groups[group_key(trial)] if supports(trial) else plain).append(trial)
    # widths far apart train apart (blocks.width_classes); a large class is split after sorting
    # by epochs: a stack runs until its longest model ends
    ordered = [sorted(members, key=lambda t: t.hyper.epochs)
               for group in groups.values() for members in width_classes(group)]
    stacks = [members[i:i + MAX_GROUP] for members in ordered for i in range(0, len(members), MAX_GROUP)]
    return stacks, plain


SPLIT_MIN = 32  # models in each half of a stack trained as two


def _halves(stacks: list[list[Trial]]) -> list[tuple[list[Trial], tuple | None]]:
    """(trials, shape) per call's stack: with fewer stacks than calls in flight, each large one is
    trained as two halves of one shape (one compilation, both cores training)."""
    if len(stacks) >= CONCURRENT_CALLS:
        return [(stack, None) for stack in stacks]
    out = []
    for stack in stacks:
        if len(stack) < 2 * SPLIT_MIN:
            out.append((stack, None))
            continue
        size = -(-len(stack) // 2)
        widest = hidden_widths(stack).max(axis=0)
        out += [(stack[:size], (size, widest)), (stack[size:], (size, widest))]
    return out


def stack_cost(trials: list[Trial]) -> float:
    """A stack's compilation (blocks.COMPILE_COST a layer) and training, in multiply-adds."""
    return COMPILE_COST * (1 + len(trials[0].hyper.spec().hidden)) + training_cost(trials)


def split_into_calls(stacks: list[tuple[list[Trial], tuple | None]]) -> list[list]:
    """The stacks ((trials, shape) each) as calls: at most STACKS_PER_CALL stacks a call and
    enough calls to keep CONCURRENT_CALLS busy, the costliest call first (stack_cost), so that
    it is traced (one call at a time) and handed to XLA first."""
    n_calls = min(len(stacks), max(CONCURRENT_CALLS, -(-len(stacks) // STACKS_PER_CALL)))
    calls = [stacks[i * len(stacks) // n_calls:(i + 1) * len(stacks) // n_calls] for i in range(n_calls)]
    return sorted(calls, key=lambda call: -sum(stack_cost(trials) for trials, _ in call))


def worth_training_alongside(trials: list[Trial], extra: list[Trial]) -> list[Trial]:
    """`extra`, candidates of which one will be trained later (the fused engine's own: supports),
    if training them all in the stacks of `trials` costs less than the later one's compilation
    (COMPILE_COST a layer, as stack_cost counts it; of the shallowest candidate); else none. Their
    cost: their own training and the steps they add to the models of the stacks they join (a
    stack steps through its largest row set)."""
    extra = [t for t in extra if supports(t)]
    rows: dict = {}  # group key (depth first) -> the most rows an extra trial of it trains on
    for trial in extra:
        rows[group_key(trial)] = max(rows.get(group_key(trial), 0), len(trial.split.train))
    padding = sum(training_cost([t]) * (rows[group_key(t)] / len(t.split.train) - 1) for t in trials
                  if supports(t) and rows.get(group_key(t), 0) > len(t.split.train))
    training = sum(training_cost([t]) for t in extra) + padding
    return extra if rows and training < COMPILE_COST * (1 + min(depth for depth, *_ in rows)) else []


PlainEngine = Callable[..., Iterator[TrainedTrial]]  # (trials, folds, keep_models, progress), as keras_engine's


def train_trials(trials: Iterable[Trial], folds: FoldData, keep_models: bool = False,
                 jit_compile: bool = True, progress: Progress | None = None,
                 plain: PlainEngine = keras_trials) -> Iterator[TrainedTrial]:
    """Train stacks a few at a time (one compilation per call), CONCURRENT_CALLS calls at once
    so that one call's compilation (single-threaded) overlaps another's; results come in call
    order. Trials the fused engine cannot train (other optimizers) go to `plain`, the one fallback
    (the plain keras engine; FusedSearchCV passes NNBinClassifier's fits).
    progress: called with each trial's share of its epochs done as the stacks train (from the
    training threads; the chunks cost no measurable time, BENCHMARKS.md); None: each call runs
    in one piece."""
    trials = list(trials)
    stacks, rest = stacks_of(trials)
    if stacks and X86 and fma_contracted():
        warnings.warn("XLA compiles with fused multiply-adds in this process (it ran before nnbin was imported, "
                      "or XLA_FLAGS names an instruction set with FMA): a trial's last bits can depend on the "
                      "trials stacked with it; import nnbin before using XLA, and leave xla_cpu_max_isa to nnbin",
                      stacklevel=2)
    _shared_table(folds)
    for trial in trials:  # fill the fold caches here, not from two threads at once
        if supports(trial):
            folds.rows(trial)
    calls = split_into_calls(_halves(stacks))
    pool = ThreadPoolExecutor(CONCURRENT_CALLS, thread_name_prefix="nnbin-fused")
    try:
        running = [pool.submit(train_groups, [trials for trials, _ in call], folds, False, jit_compile, progress,
                               [shape for _, shape in call]) for call in calls]
        n_features = folds.table().values.shape[1]
        for call in running:
            for result in call.result():
                if keep_models:  # keras models are built here, in the calling thread
                    result.model = to_keras(result.trial, result.weights, n_features)
                yield result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if rest:
        yield from plain(rest, folds, keep_models, progress)
