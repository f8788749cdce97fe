"""Quiver sharded over Airflow mapped tasks: one `quiver sync --shard I/N` per shard.

Dynamic task mapping (Airflow 2.3+) expands one task into N mapped tasks,
one per shard; each runs only the sources of its shard, so a config with
hundreds of tenants is split with no coordinator of our own. The split
depends only on the source names: `quiver plan -c quiver.yaml --shards N`
prints it, and the README ("Many sources") gives the rule.

Exit codes map as in quiver_dag.py (QuiverSyncOperator), per mapped task:
0 succeeds; 2 and 4 fail the shard at once (a person must fix the config or
the credentials); 75 and every other code fail the try, which Airflow
retries with backoff; each retry resumes from the shard's last commit.

Where the tasks write: Airflow workers share no disk, so output and state
must be on storage every worker reaches. Object-store destinations (s3://)
are the goal of issue 12 but `quiver sync` does not accept them yet (it
exits 2 saying so); until then CONFIG points at a config whose
destination.path and state are on a shared mount (NFS, EFS). Each shard
writes only its own sources' folders and state files.
"""

from __future__ import annotations

import shlex
from datetime import timedelta

import pendulum
from airflow import DAG

from quiver_dag import CONFIG, SECRETS, QuiverSyncOperator

SHARDS = 8  # N; change it freely: every source lands in exactly one shard


class QuiverShardOperator(QuiverSyncOperator):
    """QuiverSyncOperator for one shard: adds --shard I/N and --parallel K.

    Airflow builds each mapped task's operator with its own expanded
    shard, so the command line is complete in __init__.
    """

    def __init__(self, *, shard: str, parallel: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shard = shard
        self.bash_command += f" --shard {shlex.quote(shard)} --parallel {int(parallel)}"


with DAG(
    dag_id="quiver_sync_sharded",
    schedule="17 * * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 4,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(hours=1),
        "execution_timeout": timedelta(minutes=50),
    },
    tags=["quiver"],
) as dag:
    # One mapped task per shard: map_index i runs --shard i/N.
    QuiverShardOperator.partial(
        task_id="sync_shard",
        config=CONFIG,
        env=SECRETS,
        append_env=True,
        max_active_tis_per_dag=SHARDS,
    ).expand(shard=[f"{i}/{SHARDS}" for i in range(SHARDS)])
