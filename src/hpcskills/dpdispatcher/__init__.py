"""DPDispatcher-compatible submissions: its machine/resources/task JSON files, run through the
pack's SSH layer (Slurm, SlurmJobArray, Shell) or its Bohrium path, resumable via the ledger."""
