"""The fused engine: every trial of one depth trained at once, as one stacked model.

Weights carry a leading "model" axis (K models); each model draws its own shuffled
mini-batches from its own training fold, starts from the weights the builder gives for
its seed, and has its own learning rate, momentum, L2, dropout rate, class weights,
epochs and early-stopping patience. One compiled graph runs a whole epoch of all K
models; the optimizers (SGD with momentum, RMSprop, Adam) follow Keras' update rules
and default hyperparameters.

Trials share a stack when they share depth, optimizer and batch size: widths are padded to
the stack's widest in blocks (blocks.py), in a way that leaves each model's bits as they are
alone, and activations may differ per model; so a grid over widths and activations compiles
once per depth.

Modules: streams (counter-based random numbers), blocks (layers in blocks of units),
stack_data (a stack's row sets, loop state, outcome, curve stride), model (StackedMLP, its
optimizers and compiled loop), schedule (grouping, compiled-function cache and count, calls in
flight, the fallback to the plain engine).
"""
from nnbin.engines.fused.model import to_keras
from nnbin.engines.fused.schedule import (FUSED_OPTIMIZERS, compilations, group_key, stacks_of, supports,
                                          train_groups, train_trials, worth_training_alongside)
from nnbin.engines.fused.streams import epoch_batches, epoch_order

# the engine's interface only: settings and helpers are read where they are defined (patch them
# there: schedule.next_chunk, stack_data.CURVE_COST, model.validation_stride, ...)
__all__ = ["FUSED_OPTIMIZERS", "compilations", "epoch_batches", "epoch_order", "group_key", "stacks_of", "supports",
           "to_keras", "train_groups", "train_trials", "worth_training_alongside"]
