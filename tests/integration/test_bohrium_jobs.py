"""bohrium-job scripts as subprocesses against the Bohrium simulator: submit, look, download."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from hpcskills.sim.bohrium import DEMO_ACCESS_KEY, FIRST_JOB_ID, OTHER_ACCESS_KEY

from bohriumfix import (
    Bohrium,
    bohrium_fixture,  # noqa: F401 - fixture
    sim_fixture,  # noqa: F401 - fixture
    write_openclaw_config,
)


def test_check_setup_reports_sources_and_never_the_key(bohrium: Bohrium) -> None:
    data = bohrium.run("check_setup.py").data
    settings = data["settings"]
    assert settings["access_key_set"] is True
    assert settings["access_key_source"] == "env:ACCESS_KEY"
    assert settings["project_id"] == {"value": 154, "source": "env:PROJECT_ID"}
    assert settings["openapi_host"]["source"] == "env:OPENAPI_HOST"
    assert data["api"]["ok"] and data["api"]["identity"]["user_id"] == 10001
    assert data["project"] == {"ok": True, "project_id": 154}
    assert data["bohr"]["installed"] is False
    assert data["ready"] is True

    no_key = bohrium.run("check_setup.py", env={"ACCESS_KEY": ""}).data
    assert no_key["ready"] is False and no_key["api"]["error"] == "no_access_key"

    # a user coming from the platform's own skill has BOHR_ACCESS_KEY
    official = bohrium.run(
        "check_setup.py", env={"ACCESS_KEY": "", "BOHR_ACCESS_KEY": DEMO_ACCESS_KEY}
    ).data
    assert official["settings"]["access_key_source"] == "env:BOHR_ACCESS_KEY"
    assert official["ready"] is True
    versions = {row["operation"]: row for row in data["api_versions"]}
    assert versions["job_add"]["default"] == "v4" and versions["job_add"]["fallback"] == "v2"
    assert (versions["job_log"]["default"], versions["job_log"]["fallback"]) == ("v1", "")

    foreign = bohrium.run("check_setup.py", env={"PROJECT_ID": "155"}).data
    assert foreign["project"]["error"] == "permission_denied"
    assert foreign["ready"] is False


def test_settings_fall_back_to_openclaw_json(bohrium: Bohrium) -> None:
    config = Path(bohrium.env["OPENCLAW_CONFIG_PATH"])
    write_openclaw_config(config, {"apiKey": DEMO_ACCESS_KEY, "env": {"PROJECT_ID": "154"}})
    env = {"ACCESS_KEY": "", "PROJECT_ID": ""}
    data = bohrium.run("check_setup.py", env=env).data
    assert data["settings"]["access_key_source"] == f"{config}:apiKey"
    assert data["settings"]["project_id"]["source"] == f"{config}:env.PROJECT_ID"
    assert data["ready"] is True  # the API accepted the key from the file


def test_submit_from_template_then_list_describe_log_download(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir(files={"in.shear": "run 100\n", "data/atoms.lmp": "1 1 0 0 0\n"})
    dry = bohrium.run("submit_job.py", "--template", "lammps", "-p", str(folder), "--dry-run").data
    assert dry["dry_run"] is True
    assert [f["code"] for f in dry["lint"]] == ["no_backward_files"]
    assert dry["input"]["count"] == 2
    assert dry["spec"]["image_address"] == "registry.dp.tech/dptech/lammps:29Sep2021"
    assert bohrium.requests_made("job/create") == 0  # nothing sent

    sent = bohrium.submit("-n", "shear-run", folder=folder)
    assert sent["submitted"] is True and sent["lint"] == []
    assert sent["upload"]["method"] == "binary"
    assert sent["spec"]["job_name"].startswith("shear-run-hs")
    job_id = sent["job_id"]
    (stored,) = bohrium.control("objects").values()
    assert stored["verified"] is True

    listed = bohrium.run("list_jobs.py", "-n", "5").data
    assert [j["job_id"] for j in listed["jobs"]] == [job_id]
    assert listed["jobs"][0]["state"] == "RUNNING"
    assert bohrium.run("list_jobs.py", "--running").data["count"] == 1
    assert bohrium.run("list_jobs.py", "--finished").data["count"] == 0

    described = bohrium.run("describe_job.py", str(job_id)).data["jobs"][0]
    assert described["image"] == "registry.dp.tech/dptech/lammps:29Sep2021"
    assert described["machine_type"] == "c32_m64_cpu"
    assert described["has_results"] is False
    assert "resultUrl" not in json.dumps(described)

    logs = str(bohrium.tmp / "logs")
    first = bohrium.run("job_log.py", str(job_id), "--tail", "5", "-o", logs).data
    assert first["state"] == "RUNNING" and len(first["lines"]) <= 5
    bohrium.sim.advance(job_id, "finished")
    log = bohrium.run("job_log.py", str(job_id), "--tail", "2", "-o", logs).data
    assert log["state"] == "COMPLETED"
    assert log["lines"][-1] == "[sim] finished: exit code 0"
    saved = Path(log["saved"]["path"])
    assert saved.name == f"{job_id}.log" and "step 1:" in saved.read_text()
    assert saved.read_text().endswith("exit code 0\n")  # a grown log is fetched again

    out = bohrium.tmp / "results"
    got = bohrium.run("download_results.py", str(job_id), "-o", str(out), "--unzip").data
    (entry,) = got["downloaded"]
    archive = out / str(job_id) / "out.zip"
    assert entry["path"] == str(archive) and zipfile.is_zipfile(archive)
    assert (out / str(job_id) / "log").is_file() and entry["unzipped_files"] >= 2
    again = bohrium.run("download_results.py", str(job_id), "-o", str(out)).data
    assert again["downloaded"][0]["skipped"] is True
    # unpacking again never replaces a local file that differs from the archive's
    (out / str(job_id) / "log").write_text("the user's notes\n")
    unpacked = bohrium.run("download_results.py", str(job_id), "-o", str(out), "--unzip").data
    (entry,) = unpacked["downloaded"]
    assert (out / str(job_id) / "log").read_text() == "the user's notes\n"
    assert entry["not_overwritten"] == [str(out / str(job_id) / "log")]
    assert "another --out" in entry["hint"]
    assert entry["unzipped_files"] == 0 and entry["unchanged_files"] >= 1


def test_lint_errors_stop_before_anything_is_sent(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    result = bohrium.run(
        "submit_job.py",
        "-p",
        str(folder),
        "-m",
        "deepmd-kit:2.1.5",
        "-t",
        "c4_m15_T4",
        "-c",
        "cd /root/input && dp train input.json",
        "-r",
        "/home/me",
    )
    assert result.returncode == 2
    error = result.error
    assert error["type"] == "lint_failed"
    codes = {f["code"]: f for f in error["lint"] if f["level"] == "error"}
    assert set(codes) == {
        "image_not_full_address",
        "machine_type_invalid",
        "absolute_input_path",
        "result_path_outside",
    }
    assert "registry.dp.tech/dptech/deepmd-kit" in codes["image_not_full_address"]["fix"]
    assert bohrium.sim.stats().get("requests", {}) == {}


def test_job_json_with_flag_overrides_and_bad_fields(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    job_json = bohrium.tmp / "job.json"
    job_json.write_text(
        json.dumps(
            {
                "job_name": "from-file",
                "command": "python train.py",
                "log_file": "train.log",
                "backward_files": ["model.pt"],
                "machine_type": "c2_m4_cpu",
                "job_type": "container",
                "image_address": "registry.dp.tech/dptech/ubuntu:20.04-py3.10",
                "max_run_time": 30,
            }
        )
    )
    dry = bohrium.run(
        "submit_job.py", "-i", str(job_json), "-p", str(folder), "-t", "c4_m8_cpu", "--dry-run"
    ).data
    assert dry["spec"]["machine_type"] == "c4_m8_cpu"
    assert dry["spec"]["max_run_time"] == 30 and dry["spec"]["project_id"] == 154

    job_json.write_text(json.dumps({"comand": "python train.py"}))
    bad = bohrium.run("submit_job.py", "-i", str(job_json), "-p", str(folder))
    assert bad.returncode == 2 and "'command'" in bad.error["hint"]
    missing = bohrium.run("submit_job.py", "--template", "vasp", "-p", str(folder))
    assert missing.returncode == 2 and "lammps" in missing.error["hint"]


def test_waf_prone_command_is_wrapped_in_run_sh(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    command = "for i in 1 2 3; do echo step $i; done > log"
    sent = bohrium.submit("-c", command, folder=folder)
    wrapped = [f for f in sent["lint"] if f["code"] == "waf_wrapped"]
    assert wrapped and sent["spec"]["command"] == "bash run.sh"
    assert sent["input"]["added"] == ["run.sh"]
    assert not (folder / "run.sh").exists()  # added to the zip, the user's folder untouched

    refused = bohrium.run(
        "submit_job.py", "--template", "lammps", "-p", str(folder), "-c", command + " ", "--no-wrap"
    )
    # refused by job/add, after job/create and the upload: not "bad input, nothing changed"
    assert refused.returncode == 5
    assert refused.error["type"] == "submit_rejected"
    assert refused.error["reason_type"] == "waf_blocked"
    assert "run.sh" in refused.error["hint"]


def test_a_refused_submit_says_which_created_job_is_left(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    first = FIRST_JOB_ID  # a fresh simulator's first job
    refusal = {"kind": "error", "method": "POST", "path": "/openapi/v4/job/add",
               "code": 140400, "message": "invalid param: scassType"}
    bohrium.control("inject", refusal)
    # the created job cannot be deleted right away: it stays, "uploading"
    bohrium.control("inject", {"kind": "error", "method": "POST",
                               "path": f"/openapi/v1/job/del/{first}", "code": 140403,
                               "message": "permission denied"})
    args = ["--template", "lammps", "-p", str(folder), "--backward_file", "log"]
    refused = bohrium.run("submit_job.py", *args)
    assert refused.returncode == 5, refused.stdout
    error = refused.error
    assert error["type"] == "submit_rejected" and error["retryable"] is False
    assert error["reason_type"] == "rejected" and "invalid param: scassType" in error["message"]
    assert "nothing" not in error["message"]
    (left,) = [job for job in bohrium.control("jobs") if not job["submitted"]]
    assert (error["created_job_id"], error["created_job_status"]) == (first, "uploading")
    assert f"Job {first}" in error["message"] and "'uploading'" in error["message"]
    assert f"stop_jobs.py --action delete {first}" in error["hint"]
    assert left["id"] == first

    bohrium.control("inject", refusal)  # refused again: this time its job is deleted
    again = bohrium.run("submit_job.py", *args)
    assert again.returncode == 5
    assert again.error["created_job_status"] == "deleted"
    assert "deleted again" in again.error["message"]
    assert again.error["created_job_id"] not in [j["id"] for j in bohrium.control("jobs")]
    assert first not in [j["id"] for j in bohrium.control("jobs")]  # the rerun removed it
    rerun = bohrium.submit(folder=folder)  # the key was freed: a fixed rerun submits anew
    assert rerun["submitted"] is True and rerun["job_id"] != first


def test_retried_submit_does_not_create_a_second_job(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    # the platform accepts the job, then the connection drops before the answer arrives
    bohrium.control("inject", {"kind": "drop", "method": "POST", "path": "/openapi/v4/job/add"})
    first = bohrium.submit(folder=folder)
    assert first["submitted"] is True
    assert "found by its tag" in first["recovered"]
    rerun = bohrium.submit(folder=folder)
    assert rerun["reused"] is True and rerun["submitted"] is False
    assert rerun["job"]["job_id"] == first["job_id"]
    assert len(bohrium.submitted_jobs()) == 1
    assert bohrium.requests_made("job/add") == 1  # never sent twice


def test_unconfirmed_submit_asks_for_a_rerun_that_finds_the_job(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    bohrium.control("inject", {"kind": "drop", "method": "POST", "path": "/openapi/v4/job/add"})
    # the lookup before the submit works; the one after the lost answer fails
    bohrium.control(
        "inject",
        {
            "kind": "error",
            "method": "GET",
            "path": "/openapi/v4/job/list",
            "skip": 1,
            "count": 1,
            "code": 148888,
            "message": "rpc error",
        },
    )
    lost = bohrium.run(
        "submit_job.py", "--template", "lammps", "-p", str(folder), "--backward_file", "log"
    )
    assert lost.returncode == 5
    assert lost.error["type"] == "submit_unconfirmed" and lost.error["retryable"] is True
    assert "run the same command again" in lost.error["hint"]
    rerun = bohrium.submit(folder=folder)
    assert rerun["reused"] is True
    assert len(bohrium.submitted_jobs()) == 1


def test_submit_dropped_mid_answer_is_found_by_its_tag(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    # the platform accepted the job; the answer breaks off half-way through its body
    bohrium.control(
        "inject", {"kind": "drop-mid-body", "method": "POST", "path": "/openapi/v4/job/add"}
    )
    first = bohrium.submit(folder=folder)
    assert first["submitted"] is True and "found by its tag" in first["recovered"]
    assert len(bohrium.submitted_jobs()) == 1
    assert bohrium.requests_made("job/add") == 1


def test_submit_dropped_mid_answer_and_not_listed_says_outcome_unknown(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    bohrium.control(
        "inject", {"kind": "drop-mid-body", "method": "POST", "path": "/openapi/v4/job/add"}
    )
    bohrium.control(
        "inject",
        {"kind": "error", "method": "GET", "path": "/openapi/v4/job/list", "skip": 1,
         "count": 1, "code": 148888, "message": "rpc error"},
    )
    lost = bohrium.run(
        "submit_job.py", "--template", "lammps", "-p", str(folder), "--backward_file", "log"
    )
    assert lost.returncode == 5, lost.describe()
    assert lost.error["retryable"] is True
    assert "outcome unknown" in lost.error["message"]
    assert "idempotency tag" in lost.error["message"]
    assert "run the same command again" in lost.error["hint"]
    rerun = bohrium.submit(folder=folder)
    assert rerun["reused"] is True and len(bohrium.submitted_jobs()) == 1


def test_a_list_dropped_mid_answer_is_retried(bohrium: Bohrium) -> None:
    bohrium.submit()
    bohrium.control(
        "inject",
        {"kind": "drop-mid-body", "method": "GET", "path": "/openapi/v4/job/list", "count": 2},
    )
    listed = bohrium.run("list_jobs.py")
    assert listed.returncode == 0, listed.describe()
    assert listed.data["count"] == 1


def test_an_access_key_with_a_line_break_is_corrupt_and_never_shown(bohrium: Bohrium) -> None:
    for key in ("SecretKeyPart1\r\nSecretKeyPart2", "SecretKey令牌Part3"):
        for script in ("check_setup.py", "list_jobs.py"):
            result = bohrium.run(script, env={"ACCESS_KEY": key})
            output = result.stdout + result.stderr
            for part in ("SecretKeyPart1", "SecretKeyPart2", "SecretKey", "Part3"):
                assert part not in output, result.describe()
            if script == "list_jobs.py":
                assert result.returncode == 4, result.describe()
                assert result.error["type"] == "credential_corrupt"
            else:
                assert result.data["api"]["error"] == "credential_corrupt"


def test_a_new_idempotency_key_submits_again(bohrium: Bohrium) -> None:
    folder = bohrium.input_dir()
    first = bohrium.submit(folder=folder)
    second = bohrium.submit("--idempotency-key", "second-run", folder=folder)
    assert second["submitted"] is True and second["job_id"] != first["job_id"]
    assert len(bohrium.submitted_jobs()) == 2


def test_rename_and_job_files(bohrium: Bohrium) -> None:
    job_id = bohrium.submit()["job_id"]
    renamed = bohrium.run("rename_job.py", str(job_id), "better-name").data
    assert renamed["name"] == "better-name" and renamed["old_name"].startswith("lammps_tutorial")
    assert bohrium.run("describe_job.py", str(job_id)).data["jobs"][0]["name"] == "better-name"

    files = bohrium.run("job_files.py", str(job_id), "--snapshot").data
    assert files["access"]["base_dir"] == f"/home/input_lbg-10001-{job_id}"
    assert files["access"]["token_issued"] is True
    assert "token" not in files["access"]
    assert files["snapshot"]["files"][0]["name"] == "STDOUTERR"
    bohrium.sim.advance(job_id, "finished")
    ended = bohrium.run("job_files.py", str(job_id), "--snapshot").data
    assert ended["snapshot"] is None and "download" in ended["snapshot_note"]


def test_typed_errors(bohrium: Bohrium) -> None:
    bad_key = bohrium.run("list_jobs.py", env={"ACCESS_KEY": "not-a-valid-key-123"})
    assert bad_key.returncode == 4 and bad_key.error["type"] == "unauthorized"
    assert "not-a-valid-key-123" not in bad_key.stdout + bad_key.stderr

    missing = bohrium.run("describe_job.py", "999")
    assert missing.returncode == 6

    job_id = bohrium.submit()["job_id"]
    foreign = bohrium.run("describe_job.py", str(job_id), env={"ACCESS_KEY": OTHER_ACCESS_KEY})
    assert foreign.returncode == 4 and foreign.error["type"] == "permission_denied"
    assert "ACCESS_KEY" in foreign.error["hint"]

    bohrium.control(
        "inject",
        {
            "kind": "error",
            "method": "GET",
            "count": 1,
            # the ledger knows the job's bohrId, so the detail is read over v4
            "path": f"/openapi/v4/job/detail/{bohrium.sim.jobs[job_id].bohr_id}",
            "code": 148888,
            "message": "rpc error",
        },
    )
    rpc = bohrium.run("describe_job.py", str(job_id))
    assert rpc.returncode == 5 and rpc.error["retryable"] is True

    bohrium.control(
        "inject",
        {
            "kind": "429",
            "method": "GET",
            "count": 2,
            "path": "/openapi/v4/job/list",
            "retry_after": 0,
        },
    )
    assert bohrium.run("list_jobs.py").data["count"] == 1  # the 429s were waited out

    no_key = bohrium.run("list_jobs.py", "-n", "3", env={"ACCESS_KEY": ""})
    assert no_key.returncode == 4 and "openclaw.json" in no_key.error["hint"]


def test_interrupted_download_resumes(bohrium: Bohrium) -> None:
    bohrium.sim.configure(result_padding_bytes=2 * 1024 * 1024)
    job_id = bohrium.submit()["job_id"]
    bohrium.sim.advance(job_id, "finished")
    path = f"/_files/results/{job_id}/out.zip"
    bohrium.control("inject", {"kind": "drop-mid-body", "method": "GET", "path": path, "count": 4})
    out = bohrium.tmp / "results"
    broken = bohrium.run("download_results.py", str(job_id), "-o", str(out))
    assert broken.returncode == 5 and broken.error["retryable"] is True
    part = out / str(job_id) / "out.zip.part"
    assert part.is_file() and not (out / str(job_id) / "out.zip").exists()
    resumed = bohrium.run("download_results.py", str(job_id), "-o", str(out)).data
    (entry,) = resumed["downloaded"]
    assert entry["resumed_from"] > 0 and not part.exists()
    assert zipfile.ZipFile(entry["path"]).testzip() is None


def test_download_skips_jobs_without_results(bohrium: Bohrium) -> None:
    running = bohrium.submit()["job_id"]
    out = bohrium.tmp / "results"
    result = bohrium.run("download_results.py", str(running), "999", "-o", str(out)).data
    assert result["downloaded"] == [] and result["not_found"] == [999]
    assert "still running" in result["skipped"][0]["reason"]
