"""Tasks grouped into jobs, and each job's script for Slurm, SlurmJobArray or Shell (pure).

The scripts follow DPDispatcher's: a header, the environment (modules, sources, exports,
prepend_script), then per task `cd` to its directory and run the command unless its
`<task hash>_task_tag_finished` file exists — so a resubmitted job skips finished tasks.
A failed task leaves `<task hash>_task_exit_code`; the job then exits 1.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass

from hpcskills.dpdispatcher.inputs import Resources, SubmissionSpec, Task

FINISHED_TAG = "_task_tag_finished"
EXIT_CODE_FILE = "_task_exit_code"


@dataclass(frozen=True)
class JobPlan:
    """One job of the submission: its tasks and its identity."""

    index: int
    tasks: tuple[Task, ...]
    hash: str

    @property
    def script_name(self) -> str:
        return f"{self.hash}.sub"


def group_tasks(tasks: tuple[Task, ...], group_size: int) -> list[tuple[Task, ...]]:
    """Tasks in order, `group_size` per job (0 = all in one job)."""
    size = group_size or len(tasks)
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def plan_jobs(spec: SubmissionSpec) -> list[JobPlan]:
    """The jobs of a submission (stable for the same definition)."""
    plans = []
    for index, tasks in enumerate(group_tasks(spec.tasks, spec.resources.group_size)):
        digest = hashlib.sha1(spec.hash.encode())  # noqa: S324 - a name, not security
        for task in tasks:
            digest.update(task.hash.encode())
        plans.append(JobPlan(index, tasks, digest.hexdigest()))
    return plans


def _quoted_value(value: str) -> str:
    """A double-quoted shell word that still expands $VARS (like DPDispatcher's exports)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") + '"'


def _source_path(path: str) -> str:
    return "~/" + shlex.quote(path[2:]) if path.startswith("~/") else shlex.quote(path)


def environment(res: Resources) -> list[str]:
    """module purge/unload/load, source, export and prepend_script lines."""
    lines = ["module purge"] if res.module_purge else []
    lines += [f"module unload {shlex.quote(m)}" for m in res.module_unload_list]
    lines += [f"module load {shlex.quote(m)}" for m in res.module_list]
    lines += [f"source {_source_path(s)}" for s in res.source_list]
    lines += [f"export {k}={_quoted_value(v)}" for k, v in res.envs]
    return lines + list(res.prepend_script)


def slurm_header(res: Resources, array_size: int | None = None) -> list[str]:
    """#SBATCH lines as DPDispatcher writes them (+ --array for SlurmJobArray)."""
    lines = [
        "#!/bin/bash -l",
        "#SBATCH --parsable",
        f"#SBATCH --nodes {res.number_node}",
        f"#SBATCH --ntasks-per-node {res.cpu_per_node}",
    ]
    if res.custom_gpu_line:
        lines.append(res.custom_gpu_line)
    elif res.gpu_per_node:
        lines.append(f"#SBATCH --gres=gpu:{res.gpu_per_node}")
    if res.queue_name:
        lines.append(f"#SBATCH --partition {res.queue_name}")
    if array_size is not None:
        lines.append(f"#SBATCH --array=0-{array_size - 1}")
    return lines + list(res.custom_flags)


def task_block(task: Task, res: Resources, gpu_index: int | None, flag: str) -> list[str]:
    """Run one task in its directory unless it already finished; record its exit code."""
    tag = task.hash + FINISHED_TAG
    code_file = task.hash + EXIT_CODE_FILE
    redirect = ""
    if task.outlog:
        redirect += f" 1>>{shlex.quote(task.outlog)}"
    if task.errlog:
        redirect += f" 2>>{shlex.quote(task.errlog)}"
    cuda = f"export CUDA_VISIBLE_DEVICES={gpu_index}; " if gpu_index is not None else ""
    background = " &" if res.para_deg > 1 else ""
    return [
        'cd "$REMOTE_ROOT"',
        f"cd {shlex.quote(task.task_work_path)}",
        "test $? -ne 0 && exit 1",
        f"if [ ! -f {tag} ]; then",
        f"  {cuda}( {task.command} ){redirect}",
        "  code=$?",
        f"  if test $code -eq 0; then touch {tag}; rm -f {code_file};",
        f'  else echo $code > {code_file}; echo 1 > "$REMOTE_ROOT/{flag}"; fi',
        "fi" + background,
    ]


def _tasks_body(tasks: tuple[Task, ...], res: Resources, flag: str) -> list[str]:
    lines: list[str] = []
    for n, task in enumerate(tasks):
        gpu = n % res.gpu_per_node if res.if_cuda_multi_devices else None
        lines += task_block(task, res, gpu, flag)
        if res.para_deg > 1 and ((n + 1) % res.para_deg == 0 or n + 1 == len(tasks)):
            lines.append("wait")
    return lines


def _ending(flag: str, finished: str, res: Resources) -> list[str]:
    return [
        'cd "$REMOTE_ROOT"',
        "test $? -ne 0 && exit 1",
        f'if test "$(cat {flag})" -eq 0; then touch {finished}; else exit 1; fi',
        *res.append_script,
    ]


def render_job(spec: SubmissionSpec, job: JobPlan, remote_dir: str | None) -> str:
    """The script of one job for the submission's batch type; `remote_dir` None = the
    directory the script starts in (a Bohrium job's unpacked input)."""
    res = spec.resources
    root = shlex.quote(remote_dir) if remote_dir is not None else '"$(pwd)"'
    start = [f"REMOTE_ROOT={root}"]
    if spec.machine.batch_type == "SlurmJobArray":
        slices = [
            job.tasks[i : i + res.slurm_job_size]
            for i in range(0, len(job.tasks), res.slurm_job_size)
        ]
        flag = f"{job.hash}_${{SLURM_ARRAY_TASK_ID}}_flag_if_job_task_fail"
        lines = [*slurm_header(res, len(slices)), "", *environment(res), *start]
        lines += [f'echo 0 > "$REMOTE_ROOT/{flag}"', 'case "$SLURM_ARRAY_TASK_ID" in']
        for number, tasks in enumerate(slices):
            lines += [f"{number})", *("  " + line for line in _tasks_body(tasks, res, flag)), ";;"]
        lines.append("esac")
        finished = f"{job.hash}_${{SLURM_ARRAY_TASK_ID}}_job_tag_finished"
        return "\n".join([*lines, *_ending(flag, finished, res)]) + "\n"
    flag = f"{job.hash}_flag_if_job_task_fail"
    shell = spec.machine.batch_type in ("Shell", "Bohrium")
    header = ["#!/bin/bash"] if shell else slurm_header(res)
    lines = [*header, "", *environment(res), *start, f'echo 0 > "$REMOTE_ROOT/{flag}"']
    lines += _tasks_body(job.tasks, res, flag)
    return "\n".join([*lines, *_ending(flag, f"{job.hash}_job_tag_finished", res)]) + "\n"
