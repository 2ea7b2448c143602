"""The Slurm layer.

Pure: `states` (normalized vocabulary), `commands` (argv builders, stderr classifiers),
`parse` (squeue, sacct, sinfo, sbatch), `details` (scontrol show job, seff), `units`
(durations, sizes, timestamps), `script` (JobSpec, batch script rendering) and
`limits` (a spec checked against one partition's limits). Running them: `client` (one
SlurmClient per connection: build, run, classify failures, parse) and `batch` (several
commands in one remote exec). Slurm output is parsed only here.
"""
