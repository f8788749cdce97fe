"""Quiver from Airflow: an hourly `quiver sync` that maps quiver's exit codes.

quiver's exit codes (docs/config.md#exit-codes) say whether trying again can
help. QuiverSyncOperator, a BashOperator, turns them into Airflow outcomes:

    0              success
    2, 4           fail at once, without retries (AirflowFailException): a
                   config error or rejected credentials need a person, and
                   retried logins can lock the account (TrackTik locks the
                   IP for 2 hours after 40 failed logins in 2 minutes)
    75             temporary (rate limit, quota, outage, or another run of
                   the source still going): the try fails and Airflow
                   retries it, with exponential backoff from retry_delay
    1, 3, 130, 143 failed, partial or interrupted: retried the same way

Every retry resumes from the last committed checkpoint, so nothing is read
or written twice. No pool or lock is needed for safety either: quiver locks
each source's state itself, and a second run of a source exits at once
with 75, to be retried later; max_active_runs=1 just avoids pointless
overlap.

Secrets come from Airflow Variables (masked in the logs because their names
contain "secret" or "password") into the environment, where the ${VAR}
references of quiver.yaml find them.
"""

from __future__ import annotations

import shlex
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException

try:  # Airflow 3 (and 2.x with the standard provider)
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

QUIVER = "/opt/quiver/bin/quiver"  # plugins (quiver-<connector>) sit next to it
CONFIG = "/opt/quiver/quiver.yaml"

# Exit codes that retrying cannot fix.
FAIL_FAST = {
    2: "usage or config error: fix the command or the config file",
    4: "authentication failed: the vendor rejected the credentials",
}


class QuiverSyncOperator(BashOperator):
    """Runs `quiver sync` and maps its exit code onto Airflow's outcomes.

    0 succeeds; the codes in FAIL_FAST fail the task at once, with no
    retries; every other code fails the try, and Airflow retries it as the
    task's retries and retry_delay say.
    """

    def __init__(self, *, config: str, streams: list[str] | None = None,
                 full_refresh: bool = False, **kwargs) -> None:
        cmd = [QUIVER, "sync", "-c", config, "--quiet", "--log-format", "json"]
        if streams:
            cmd += ["--streams", ",".join(streams)]
        if full_refresh:
            cmd.append("--full-refresh")
        super().__init__(
            bash_command=shlex.join(cmd),
            # Never turn an exit code into "skipped" (BashOperator's default
            # skips 99).
            skip_on_exit_code=None,
            **kwargs,
        )

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException:
            proc = self.subprocess_hook.sub_process
            code = proc.returncode if proc is not None else None
            if code in FAIL_FAST:
                raise AirflowFailException(f"quiver sync exited {code}: {FAIL_FAST[code]}") from None
            raise  # retried


SECRETS = {
    # ${VAR} in quiver.yaml <- Airflow Variable
    "TRACKTIK_CLIENT_SECRET": "{{ var.value.tracktik_client_secret }}",
    "TRACKTIK_PASSWORD": "{{ var.value.tracktik_password }}",
}

with DAG(
    dag_id="quiver_sync",
    schedule="17 * * * *",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,  # each run reads everything new since the last one
    max_active_runs=1,
    default_args={
        "retries": 4,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,  # 5, 10, 20, 40 minutes
        "max_retry_delay": timedelta(hours=1),
        "execution_timeout": timedelta(minutes=50),
    },
    tags=["quiver"],
) as dag:
    QuiverSyncOperator(
        task_id="sync",
        config=CONFIG,
        env=SECRETS,
        append_env=True,
    )

with DAG(
    dag_id="quiver_weekly_full_refresh",
    # TrackTik has no "updated since" filter: re-read shifts whole once a
    # week to pick up edits to shifts already read.
    schedule="45 3 * * 0",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=15),
    },
    tags=["quiver"],
) as weekly:
    QuiverSyncOperator(
        task_id="full_refresh_shifts",
        config=CONFIG,
        streams=["acme.shifts"],
        full_refresh=True,
        env=SECRETS,
        append_env=True,
    )
