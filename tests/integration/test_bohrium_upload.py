"""A 150 MiB incompressible input takes the multipart path; the simulator reassembles and
verifies the zip."""

from __future__ import annotations

import os

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    sim_fixture,  # noqa: F401 - fixture
)

MiB = 1024 * 1024


def test_150_mib_input_is_uploaded_in_50_mib_parts(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir("big", {"in.shear": "run 100\n"})
    with open(folder / "trajectory.bin", "wb") as handle:
        for _ in range(150):
            handle.write(os.urandom(MiB))
    sent = bohrium.submit(folder=folder)
    upload = sent["upload"]
    assert upload["method"] == "multipart"
    assert upload["bytes"] > 150 * MiB
    assert upload["parts"] == -(-upload["bytes"] // (50 * MiB)) == 4
    assert bohrium.requests_made("tiefblue/part") == 4
    assert bohrium.requests_made("tiefblue/binary") == 0
    (stored,) = bohrium.control("objects").values()
    assert stored == {"size": upload["bytes"], "verified": True}
    assert bohrium.sim.stats()["events"]["multipart_completed"] == 1
    assert bohrium.run("describe_job.py", str(sent["job_id"])).data["jobs"][0]["state"] == (
        "RUNNING"
    )
