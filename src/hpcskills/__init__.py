"""hpc-skills: the engine behind the Bohrium and Slurm/SJTU agent skills."""

__version__ = "0.1.0"
