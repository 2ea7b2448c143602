"""The pure Slurm layer: no I/O.

`states` (normalized vocabulary), `commands` (argv builders, stderr classifiers),
`parse` (squeue, sacct, sinfo, sbatch), `details` (scontrol show job, seff), `units`
(durations, sizes, timestamps), `script` (JobSpec, batch script rendering) and
`limits` (a spec checked against one partition's limits).
"""
