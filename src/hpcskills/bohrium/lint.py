"""Checks of a job spec and its input before anything is uploaded (pure).

Each finding has a level: `error` (the submit stops, nothing is sent), `warning` (sent, but
the user should know), or `fixed` (the spec was changed; the finding says how).
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from hpcskills.bohrium.catalog import Catalog
from hpcskills.bohrium.packing import Inventory
from hpcskills.bohrium.spec import JobSpec

MiB = 1024 * 1024
WRAPPER_NAMES = ("run.sh", "run_bohrium.sh", "run_bohrium_job.sh")
_REGISTRY_IMAGE = re.compile(
    r"^(?P<registry>[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?|localhost(?::\d+)?)/"
    r"(?P<path>[a-z0-9._/-]+?)(?P<ref>:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?$"
)
_ROOT_INPUT = re.compile(r"/root/input\b")


@dataclass(frozen=True)
class Finding:
    level: str
    code: str
    message: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "code": self.code, "message": self.message, "fix": self.fix}


@dataclass
class LintResult:
    """Findings, the spec after automatic fixes, and files to add to the input zip."""

    spec: JobSpec
    findings: list[Finding] = field(default_factory=list)
    extra_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def add(self, level: str, code: str, message: str, fix: str | None = None) -> None:
        self.findings.append(Finding(level, code, message, fix))

    def to_list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.findings]


def wrapper_name(inventory: Inventory, content: bytes) -> str:
    """A name for the wrapper script: free in the input, or already holding `content` (a
    rerun after bohr wrote it into the input directory)."""
    files = {f.arcname: f for f in inventory.files}
    candidates = [*WRAPPER_NAMES, *(f"run_bohrium_{i}.sh" for i in range(2, len(files) + 3))]
    for name in candidates:
        existing = files.get(name)
        if existing is None or (
            existing.size == len(content) and existing.path.read_bytes() == content
        ):
            return name
    raise AssertionError("unreachable: more candidates than files")


def wrapper_script(command: str) -> bytes:
    """run.sh holding the command verbatim."""
    return (
        "#!/bin/bash\n"
        "# Written by submit_job.py: the job's command, kept out of the API request because\n"
        "# Bohrium's web firewall refuses requests with shell syntax (HTTP 405).\n"
        f"{command.rstrip()}\n"
    ).encode()


def _required(result: LintResult) -> None:
    spec = result.spec
    for name, flag in (
        ("command", "-c"),
        ("image_address", "-m"),
        ("machine_type", "-t"),
        ("project_id", "--project_id"),
    ):
        if getattr(spec, name) in (None, ""):
            result.add(
                "error",
                f"missing_{name}",
                f"{name} is required",
                f"pass {flag} or use -i job.json / --template",
            )


def _image(result: LintResult, catalog: Catalog) -> None:
    image = result.spec.image_address
    if not image:
        return
    match = _REGISTRY_IMAGE.match(image.strip())
    suggestion = catalog.image_suggestion(image)
    if not match:
        result.add(
            "error",
            "image_not_full_address",
            f"image_address {image!r} is not a full registry address",
            f"use {suggestion!r}"
            if suggestion
            else "use registry/namespace/name:tag, e.g. "
            "registry.dp.tech/dptech/ubuntu:20.04-py3.10",
        )
    elif not match.group("ref"):
        result.add(
            "warning",
            "image_without_tag",
            f"image_address {image!r} has no tag",
            "pin a tag (e.g. :2.1.5-cuda11.6) so reruns use the same software",
        )


def _machine(result: LintResult, catalog: Catalog) -> None:
    machine = result.spec.machine_type
    if not machine or catalog.machine_type_known(machine):
        return
    close = difflib.get_close_matches(machine, list(catalog.machine_types), n=3, cutoff=0.6)
    if catalog.machine_type_well_formed(machine):
        result.add(
            "warning",
            "machine_type_uncommon",
            f"machine_type {machine!r} is not among the common types",
            "check it exists on the Bohrium web site (references/machine-types.md)",
        )
    else:
        result.add(
            "error",
            "machine_type_invalid",
            f"machine_type {machine!r} is not a valid type",
            ("did you mean " + " or ".join(repr(c) for c in close) + "?")
            if close
            else "CPU: c2_m4_cpu; GPU: 'c4_m15_1 * NVIDIA T4' (references/machine-types.md)",
        )


def _job_type_and_paths(result: LintResult, catalog: Catalog) -> None:
    spec = result.spec
    if spec.job_type != "container":
        result.add(
            "error",
            "job_type_not_container",
            f"job_type is {spec.job_type!r}",
            'job_type must be "container" (VM jobs are not supported since 2023)',
        )
    roots = catalog.result_path_roots
    if spec.result_path and not any(
        spec.result_path == root or spec.result_path.startswith(root + "/") for root in roots
    ):
        result.add(
            "error",
            "result_path_outside",
            f"result_path {spec.result_path!r} is not allowed",
            "result_path must be under " + ", ".join(roots),
        )
    if spec.nnode is not None and spec.nnode < 1:
        result.add("error", "nnode_invalid", "nnode must be at least 1")
    for name in ("command", "log_file"):
        value = getattr(spec, name) or ""
        if _ROOT_INPUT.search(value):
            result.add(
                "error",
                "absolute_input_path",
                f"{name} refers to /root/input",
                "use paths relative to the input directory: Bohrium starts the command inside "
                "it, and its real path (/home/input_lbg-<user>-<job>/) is unpredictable",
            )
    if spec.log_file and spec.log_file.startswith("/"):
        result.add(
            "warning",
            "log_file_absolute",
            f"log_file {spec.log_file!r} is absolute",
            "give it relative to the input directory",
        )
    for path in spec.dataset_path:
        if not path.startswith("/bohr/"):
            result.add(
                "warning",
                "dataset_path_unusual",
                f"dataset_path {path!r} does not start with /bohr/",
                "datasets mount under /bohr/<name>/<version>",
            )


def _backward_files(result: LintResult) -> None:
    spec = result.spec
    if not spec.backward_files:
        result.add(
            "warning",
            "no_backward_files",
            "backward_files is empty: every file of the working directory is kept",
            'list the outputs you need (e.g. ["log", "results/"]) to keep downloads small',
        )
    for path in spec.backward_files:
        clean = posixpath.normpath(path)
        if clean == ".." or clean.startswith("../"):
            result.add(
                "error",
                "backward_file_outside",
                f"backward file {path!r} leaves the job's working directory",
                "give a path inside the input directory (no ../)",
            )
        elif path.startswith("/"):
            result.add(
                "warning",
                "backward_file_absolute",
                f"backward file {path!r} is absolute",
                "give it relative to the input directory",
            )


def _input(result: LintResult, inventory: Inventory, catalog: Catalog) -> None:
    if not inventory.files:
        result.add("warning", "input_empty", f"input directory {inventory.root} has no files")
        return
    total = inventory.total_bytes
    if total >= catalog.limits["large_input_bytes"]:
        result.add(
            "warning",
            "input_large",
            f"the input holds {total / MiB:.0f} MiB in "
            f"{len(inventory.files)} files; uploading takes a while",
            "leave out what the job does not read (--exclude), or use a dataset",
        )
    hidden = inventory.hidden_bytes
    if hidden >= catalog.limits["large_hidden_bytes"]:
        names = ", ".join(
            f"{f.arcname} ({f.size / MiB:.0f} MiB)" for f in inventory.largest_hidden(3)
        )
        result.add(
            "warning",
            "large_hidden_files",
            f"hidden files hold {hidden / MiB:.0f} MiB of the input: {names}",
            "exclude them, e.g. --exclude .git --exclude "
            "'.*'; they slow the upload (the platform's 'no output after submit')",
        )


def _waf(result: LintResult, catalog: Catalog, inventory: Inventory, wrap: bool) -> None:
    command = result.spec.command
    if not command:
        return
    reasons = catalog.waf_reasons(command)
    if not reasons:
        return
    why = reasons[0] if len(reasons) == 1 else ", ".join(reasons[:-1]) + " and " + reasons[-1]
    if not wrap:
        result.add(
            "warning",
            "waf_prone_command",
            f"the command contains {why}; Bohrium's web firewall may refuse it (HTTP 405)",
            "let submit_job.py wrap it (drop --no-wrap), or put it in a script yourself",
        )
        return
    content = wrapper_script(command)
    name = wrapper_name(inventory, content)
    result.extra_files[name] = content
    result.spec = result.spec.with_changes(command=f"bash {name}")
    result.add(
        "fixed",
        "waf_wrapped",
        f"the command contains {why}, which Bohrium's web "
        f"firewall refuses (HTTP 405); it was written to {name} in the input and the job "
        f"runs `bash {name}`",
        "pass --no-wrap to send the command as it is",
    )


def lint(spec: JobSpec, inventory: Inventory, catalog: Catalog, *, wrap: bool = True) -> LintResult:
    """All checks; the result's spec carries the automatic fixes."""
    result = LintResult(spec)
    _required(result)
    _image(result, catalog)
    _machine(result, catalog)
    _job_type_and_paths(result, catalog)
    _backward_files(result)
    _input(result, inventory, catalog)
    _waf(result, catalog, inventory, wrap)
    return result
