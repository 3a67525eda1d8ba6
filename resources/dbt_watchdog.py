"""Kill dbt when the run's process dies: `python -I -S dbt_watchdog.py LIFELINE PIDFD PID`.

Started beside each dbt invocation (`resources/dbt.py`). It blocks on a pipe whose write end
only the step's process holds; end-of-file without `done` means that process died (SIGKILL,
out of memory), and dbt, its child, must not write on: it is killed by pidfd (never a process
that took over its pid) or, where pidfds are missing, by pid. Run by path in isolated mode,
so it needs nothing from the project and starts in milliseconds. Stop signals are blocked:
only the pipe decides.
"""

import os
import signal
import sys


def main(lifeline: int, pidfd: int, pid: int) -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    said = b"".join(iter(lambda: os.read(lifeline, 64), b""))
    if said == b"done":
        return
    try:
        if pidfd >= 0:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
        print(f"sluice: run worker died; killed dbt (pid {pid})", file=sys.stderr)
    except OSError:
        pass  # dbt had already exited


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
