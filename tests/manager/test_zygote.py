"""The manager's fork server (shared/supervisor/zygote.py), driven by a real manager stand-in.

The stand-in is its own process (``python -c``), because it must become a subreaper: this
pytest process must not inherit the orphans of every other test.  It forks the probe module
through a real zygote and prints what it saw as JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.config import ROOT

MANAGER = r'''
import json, os, signal, sys, time
from pathlib import Path
from shared.supervisor.zygote import Forked, Zygote, become_subreaper, reap_orphans
tmp = Path(sys.argv[1])
out = {"subreaper": become_subreaper()}
z = Zygote(Path(os.getcwd()), dict(os.environ))
env = {**os.environ, "ZYGOTE_PROBE": "yes"}
mod = "tests.manager.zygote_probe"
ok = z.spawn(mod, ["exit", "3"], tmp / "ok.log", env, Path(os.getcwd()))
out["ok_pid"], out["ok_code"] = ok.pid, ok.wait(20)
killed = z.spawn(mod, ["wait"], tmp / "killed.log", env, Path(os.getcwd()))
time.sleep(1.0)
out["alive"] = killed.poll() is None
os.killpg(killed.pid, signal.SIGKILL)
out["killed_code"] = killed.wait(10)
orphan = z.spawn(mod, ["orphan"], tmp / "orphan.log", env, Path(os.getcwd()))
out["orphan_code"] = orphan.wait(20)
time.sleep(0.3)
out["reaped"] = reap_orphans(set())
z.close()
out["zygote_code"] = z.proc.returncode
try:  # gone: the supervisor falls back to spawning on OSError
    z.spawn(mod, ["exit"], tmp / "late.log", env, Path(os.getcwd()))
    out["after_close"] = "forked"
except OSError as exc:
    out["after_close"] = str(exc)
print(json.dumps(out))
'''


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_forked_services_run_like_python_m_and_are_reaped_by_the_manager(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-c", MANAGER, str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["subreaper"] is True
    assert out["ok_code"] == 3 and out["killed_code"] == -9 and out["orphan_code"] == 0
    assert out["alive"] is True
    assert out["zygote_code"] == 0  # it exits when the manager closes its stdin
    assert out["after_close"] == "the fork server is not running"
    seen = json.loads(_lines(tmp_path / "ok.log")[0])
    # what ``python -m tests.manager.zygote_probe exit 3`` would see, in its own session
    assert seen["argv"][0].endswith("tests/manager/zygote_probe.py")
    assert seen["argv"][1:] == ["exit", "3"] and seen["name"] == "__main__"
    assert seen["cwd"] == str(ROOT) and seen["env"] == "yes" and seen["stdin"] == ""
    assert seen["pid"] == out["ok_pid"] == seen["pgid"] == seen["sid"]
    assert _lines(tmp_path / "ok.log")[1] == "to stderr"  # stdout and stderr: the console log
    # re-parented to the manager stand-in (the subreaper), which collected the exit codes;
    # the probe's own orphaned child was re-parented too, and reaped
    manager_pid = seen["ppid"]
    assert manager_pid != os.getpid() and manager_pid != 1
    assert len(out["reaped"]) == 1


def test_a_forked_service_shows_in_ps_as_python_m_its_module() -> None:
    """``ps`` shows each service as itself, not as the fork server it was forked from."""
    code = ("import sys; from shared.supervisor.zygote import _name_process;"
            "_name_process('services.news', []);"
            "print(open('/proc/self/cmdline').read().replace(chr(0), ' ').strip())")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=30)
    assert res.stdout.strip() == f"{sys.executable} -m services.news", res.stderr
