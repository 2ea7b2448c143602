"""Idempotent Slurm submission on SJTU: the ledger records the intent before sbatch, the
job name carries the key's tag, and a lost answer is resolved by looking the tag up."""

from __future__ import annotations

import posixpath
from typing import Any

from hpcskills.core.workspace import Workspace
from hpcskills.jobs.slurm_outputs import declared_outputs
from hpcskills.jobs.slurm_tag import failure_phase, lookup_by_tag
from hpcskills.ledger import keys
from hpcskills.ledger.once import Outcome, Sent, submit_once
from hpcskills.ledger.records import Submission
from hpcskills.ledger.store import open_ledger
from hpcskills.sjtu import submit as sjtu_submit
from hpcskills.sjtu.session import ClusterSession

PLATFORM = "slurm"


def default_key(session: ClusterSession, prepared: sjtu_submit.Prepared) -> str:
    """The key of a submission: site, user, node group, partition, work dir, script and
    how it runs (array, dependencies, hold; a plain job's key is unchanged by them)."""
    run_options = prepared.run.sbatch_options()
    return keys.derive_key(
        PLATFORM,
        session.site.name,
        session.user,
        prepared.node_group,
        prepared.partition,
        prepared.workdir or "",
        prepared.script,
        *run_options,
    )


def _result(outcome: Outcome, session: ClusterSession, key: str) -> dict[str, Any]:
    record = outcome.submission
    result: dict[str, Any] = {
        **session.describe(),
        "job_id": record.job_id,
        "name": record.name,
        "submitted": not outcome.reused,
        "reused": outcome.reused,
        "idempotency_key": key,
        "ledger_id": record.id,
        "partition": record.details.get("partition"),
        "script_path": record.details.get("script_path"),
        "warnings": record.details.get("warnings", []),
        **{k: record.details[k] for k in ("array", "depends_on", "held") if k in record.details},
    }
    if outcome.reused:
        result["how"] = outcome.how
        result["state"] = record.state
        result["note"] = (
            "a job with this idempotency key was already submitted; it is returned instead "
            "of a second copy (pass another --idempotency-key to run it again)"
        )
    return result


def submit_sjtu_once(
    workspace: Workspace,
    session: ClusterSession,
    prepared: sjtu_submit.Prepared,
    key: str | None = None,
) -> dict[str, Any]:
    """Submit `prepared` at most once per idempotency key (default: derived from it)."""
    key = keys.check_key(key) if key else default_key(session, prepared)
    name = keys.tagged_name(prepared.name.strip("'\"") or "job", key)
    fields = {
        "site": session.site.name,
        "entry_node": session.choice.name,
        "host": session.choice.host,
        "port": session.choice.port,
        "remote_user": session.user,
        "name": name,
        "spec_hash": keys.derive_key(prepared.script),
        "tag": keys.tag_of(key),
        "details": {
            "partition": prepared.partition,
            "node_group": prepared.node_group,
            **prepared.run.describe(),
        },
    }

    def send(record: Submission) -> Sent:
        answer = sjtu_submit.submit(session, prepared, [f"--job-name={record.name}"])
        kept = {k: answer[k] for k in ("script_path", "warnings") if k in answer}
        kept["outputs"] = {
            "remote_dir": posixpath.dirname(answer["script_path"]),
            "files": declared_outputs(prepared.script),
        }
        return Sent(str(answer["job_id"]), kept)

    with open_ledger(workspace) as ledger:
        outcome = submit_once(
            ledger,
            PLATFORM,
            key,
            fields,
            send=send,
            lookup=lambda record: lookup_by_tag(session.remote, session.user, record),
            failure_phase=failure_phase,
        )
    return _result(outcome, session, key)
