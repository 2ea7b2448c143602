"""The remote layer: one interface, an OpenSSH (ControlMaster) and a paramiko backend."""
