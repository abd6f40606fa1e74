"""refcheck.py -- what the Python reference tests share (imported from their folder): counted checks with a
summary, and running a C tool that must succeed."""
import subprocess


class Checks:
    """check(cond, msg) counts a check and prints FAILED: msg when cond is false; summary(name) prints the count
    and returns the exit status: 1 when a check failed or none ran, else 0."""

    def __init__(self):
        self.checks = self.failures = 0

    def __call__(self, cond, msg):
        self.checks += 1
        if not cond:
            self.failures += 1
            print("FAILED:", msg)

    def summary(self, name):
        print(f"{name}: {self.checks} checks, {self.failures} failed")
        return 1 if self.failures or self.checks == 0 else 0


def run_tool(cmd):
    """runs the command (a list); on a failure prints its output and ends the test (exit 1)"""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"{' '.join(cmd)} failed")
    return r
