"""Where this process sits in a distributed job: its rank, local rank, world size, node
and job, read in this one place from the variables the launchers set (torchrun / torch
elastic, Lightning, SLURM, Open MPI, MPICH/PMI, PBS, LSF, Flux).

A framework that knows better (``torch.distributed`` once initialised, a Lightning
trainer) passes its own rank as ``rank_source``: it wins over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["JOB_ID_VARIABLES", "Placement", "placement", "records"]

#: The process's global rank, first found wins.
RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")
#: Its rank on its node.
LOCAL_RANK_VARIABLES = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK",
                        "MPI_LOCALRANKID")
#: Its node's rank among the job's nodes.
NODE_RANK_VARIABLES = ("GROUP_RANK", "NODE_RANK", "SLURM_NODEID")
#: Processes in the job; processes on this node.
WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
LOCAL_WORLD_SIZE_VARIABLES = ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE",
                              "OMPI_COMM_WORLD_LOCAL_SIZE")
#: The job, shared by all its processes (tag ``autolog.job_id``).
JOB_ID_VARIABLES = ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID", "LSB_JOBID", "PBS_JOBID",
                    "JOB_ID", "FLUX_JOB_ID")


@dataclass(frozen=True)
class Placement:
    """``rank`` is None outside a distributed job (or where only a local rank is known on
    a node other than the first); ``is_zero`` tells whether this process is the one that
    records when only one does."""

    rank: int | None = None
    local_rank: int | None = None
    node_rank: int | None = None
    world_size: int | None = None
    job_id: str | None = None

    @property
    def is_zero(self) -> bool:
        if self.rank is not None:
            return self.rank == 0
        return not self.local_rank and not self.node_rank

    def tags(self) -> dict[str, str]:
        """``autolog.job_id``, ``autolog.rank``, ``autolog.world_size`` as far as known."""
        tags = {}
        if self.job_id:
            tags["autolog.job_id"] = self.job_id
        if self.rank is not None:
            tags["autolog.rank"] = str(self.rank)
            if self.world_size is not None:
                tags["autolog.world_size"] = str(self.world_size)
        return tags


def _first_int(names: tuple[str, ...]) -> int | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            try:
                return int(value)
            except ValueError:
                continue
    return None


def placement(rank_source: Callable[[], int | None] | None = None) -> Placement:
    """This process's place in its job, now (a few environment reads: call it at a
    session's start, not per step). ``rank_source()`` -- the framework's own rank, or
    None when it has none yet -- wins over the environment; an error in it counts as
    None."""
    rank = None
    if rank_source is not None:
        try:
            rank = rank_source()
        except Exception:  # noqa: BLE001 - e.g. torch.distributed torn down meanwhile
            rank = None
    if rank is None:
        rank = _first_int(RANK_VARIABLES)
    local_rank = _first_int(LOCAL_RANK_VARIABLES)
    node_rank = _first_int(NODE_RANK_VARIABLES)
    if rank is None and local_rank is not None:
        # Lightning's own launcher sets LOCAL_RANK and NODE_RANK only.
        if not node_rank:
            rank = local_rank
        else:
            per_node = _first_int(LOCAL_WORLD_SIZE_VARIABLES)
            if per_node:
                rank = node_rank * per_node + local_rank
    job_id = None
    for name in JOB_ID_VARIABLES:
        if os.environ.get(name):
            job_id = os.environ[name]
            break
    return Placement(rank, local_rank, node_rank, _first_int(WORLD_SIZE_VARIABLES), job_id)


def records(log_all_ranks: bool = False,
            rank_source: Callable[[], int | None] | None = None) -> bool:
    """Whether this process records: rank 0 (or no distributed job) always, the others
    with ``log_all_ranks``."""
    return bool(log_all_ranks) or placement(rank_source).is_zero
