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
A 75 also comes from a source whose lease a killed worker still holds: it
expires after QUIVER_LEASE_TTL (default 2 minutes), less than retry_delay.

Where the tasks write: Airflow workers share no disk, so output and state
live in S3 (docs/object-stores.md). CONFIG_S3 is a config whose
destination and state name the bucket and the S3 options through the
environment, which S3_ENV fills from Airflow Variables and the aws_default
connection:

    destination:
      path: s3://${QUIVER_BUCKET}/quiver/out?${QUIVER_S3_QUERY}
      format: parquet
    state: s3://${QUIVER_BUCKET}/quiver/state?${QUIVER_S3_QUERY}

with quiver_s3_query "region=eu-west-1" for AWS S3, or for an
S3-compatible server "region=us-east-1&endpoint=https://minio:9000&use_path_style=true"
(plain http is refused but for loopback: see docs/object-stores.md).
The AWS keys are masked in Airflow's logs and quiver never writes them
anywhere. Analysts read <source>/_files.json, which lists only committed
files, rather than a listing of the prefix, which may show the uploads of
a task still running.
"""

from __future__ import annotations

import shlex
from datetime import timedelta

import pendulum
from airflow import DAG

from quiver_dag import SECRETS, QuiverSyncOperator

SHARDS = 8  # N; change it freely: every source lands in exactly one shard

CONFIG_S3 = "/opt/quiver/quiver-s3.yaml"

S3_ENV = {
    # ${VAR} in quiver-s3.yaml <- Airflow Variable
    "QUIVER_BUCKET": "{{ var.value.quiver_bucket }}",
    "QUIVER_S3_QUERY": "{{ var.value.quiver_s3_query }}",
    # The usual AWS environment <- the aws_default connection (leave these
    # out where the worker has a role: IRSA, an instance profile)
    "AWS_ACCESS_KEY_ID": "{{ conn.aws_default.login }}",
    "AWS_SECRET_ACCESS_KEY": "{{ conn.aws_default.password }}",
}


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
        config=CONFIG_S3,
        env={**SECRETS, **S3_ENV},
        append_env=True,
        max_active_tis_per_dag=SHARDS,
    ).expand(shard=[f"{i}/{SHARDS}" for i in range(SHARDS)])
