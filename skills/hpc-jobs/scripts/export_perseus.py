#!/usr/bin/env python3
"""Report the pack's jobs to a PERSEUS portal (/service/JobManager/add); changes only."""

import _pack  # noqa: F401
import click

from hpcskills.core.cli import log, run, script
from hpcskills.perseus.config import load_settings
from hpcskills.perseus.export import PLATFORMS, export_perseus
from hpcskills.sjtu.options import backend_option


@click.command()
@script
@click.option("--url", help="PERSEUS base URL (default: $PERSEUS_URL).")
@click.option("--project-oid", help="PERSEUS project ObjectId (default: $PERSEUS_PROJECT_OID).")
@click.option("--compute-project-id", help="Compute project (default: "
              "$PERSEUS_COMPUTE_PROJECT_ID).")
@click.option("--cluster-id", "cluster_ids", multiple=True, metavar="[SITE=]ID",
              help="PERSEUS cluster id, for all sites or one (default: $PERSEUS_CLUSTER_ID).")
@click.option("--platform", "platforms", multiple=True, type=click.Choice(PLATFORMS))
@click.option("--since", metavar="AGE|DATE", help="Only jobs submitted within 2h, 3d, ...")
@click.option("--resend", is_flag=True, help="Send every record, changed or not.")
@click.option("--dry-run", is_flag=True, help="Print the payload; send nothing.")
@backend_option
def main(workspace, url, project_oid, compute_project_id, cluster_ids, platforms, since,
         resend, dry_run, backend):
    """The token comes from $PERSEUS_TOKEN or credentials/perseus_token, never from argv.
    Records are re-sent only when a job's state changed since it was last sent."""
    settings = load_settings(url=url, project_oid=project_oid,
                             compute_project_id=compute_project_id, cluster_ids=cluster_ids,
                             need_url=not dry_run)
    return export_perseus(workspace, settings, dry_run=dry_run, resend=resend,
                          platforms=platforms, since=since, backend=backend, report=log)


if __name__ == "__main__":
    run(main)
