"""Executors decide WHERE trials are trained: in this process, or as Ray tasks on a cluster.
They move groups of trials and their results; HOW a group is trained is the engine's
business (nnbin.engines), and the same engine code runs in either place."""
from __future__ import annotations

from nnbin.executors.local import LocalExecutor


def make_executor(settings=None, *, device: str = "auto", deterministic: bool = False):
    """The executor a config's `executor:` section asks for (None: local)."""
    if settings is None or settings.kind == "local":
        return LocalExecutor()
    from nnbin.executors.ray_cluster import RayExecutor

    return RayExecutor(settings, device=device, deterministic=deterministic)


__all__ = ["LocalExecutor", "make_executor"]
