"""tke-eni-agent's opt-in CPU profile: every thread's calls on its own CPU clock, merged into one file."""

import pstats
import threading

from tke_eni_agent.profiling import profiled


def spin(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def busy_worker():
    spin(200_000)


def test_every_thread_is_profiled_and_the_exit_status_kept(tmp_path):
    output = tmp_path / "agent.prof"
    original_run = threading.Thread.run

    def daemon():
        worker = threading.Thread(target=busy_worker)
        worker.start()
        worker.join(30)
        spin(1000)
        return 3

    assert profiled(daemon, output) == 3
    assert threading.Thread.run is original_run
    stats = pstats.Stats(str(output)).stats
    called = {name for (_, _, name) in stats}
    assert {"busy_worker", "daemon"} <= called
    [worker_spin] = [v for (_, _, name), v in stats.items() if name == "spin"]
    assert worker_spin[0] == 2  # once in the worker, once in the main thread
