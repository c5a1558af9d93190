"""`make run` with nothing configured: the embedded default serves the API, runs jobs and has the
demo contracts, exactly as a new user gets it."""

import json
import os
import signal
import sqlite3
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.processes import die_with_parent
from tests.support.net import free_port
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

# Variables the test run sets for itself; a new user has none of them.
_CONFIGURED = (
    "APP_ENV", "DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "PDF_DIR", "LLM_PROVIDER",
    "TEST_DATABASE_URL", "TEST_REDIS_URL", "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
)



_TOKEN = {}


def _auth():
    return {"Authorization": f"Bearer {_TOKEN['value']}"} if _TOKEN.get("value") else {}


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **_auth()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _get(url, signed_in=True):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=_auth() if signed_in else {}), timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return None, b""


@pytest.fixture
def running(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in _CONFIGURED}
    env.update({"PORT": str(port), "DATA_DIR": str(tmp_path / "var"), "LOG_LEVEL": "INFO"})
    log = open(tmp_path / "make-run.log", "w+")
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent())
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(base + "/health")[0] == 200 or proc.poll() is not None, timeout=120, what="make run to serve /health")
        assert proc.poll() is None, Path(log.name).read_text()[-4000:]
        # make run prints the development token and where it is kept, as a new user reads it.
        token_file = tmp_path / "var" / "dev-token"
        _TOKEN["value"] = token_file.read_text().strip()
        wait_for(lambda: _TOKEN["value"] in Path(log.name).read_text(), timeout=30, what="make run to print the token")
        yield base, tmp_path / "var", env, Path(log.name)
    finally:
        _TOKEN.clear()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_make_run_serves_the_embedded_default(running):
    base, data_dir, env, log = running
    status, body = _get(base + "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"

    status, body = _get(base + "/docs")
    assert status == 200 and b"swagger-ui" in body
    status, body = _get(base + "/", signed_in=False)
    assert status == 200 and b'<label for="api-token">API token</label>' in body  # the console
    assert f"Console: {base}/" in log.read_text()

    status, body = _get(base + "/ready", signed_in=False)
    assert status == 200 and json.loads(body)["checks"]["database"] == {"ok": True}  # no details for anyone
    status, body = _get(base + "/api/v1/contracts/search", signed_in=False)
    assert status == 401, body

    status, body = _get(base + "/ready")
    checks = json.loads(body)["checks"]
    assert status == 200, body
    assert checks["database"]["detail"].startswith("sqlite (embedded), schema ")
    assert checks["broker"]["detail"] == "filesystem (embedded)"

    # The demo contracts and their PDFs are there.
    with sqlite3.connect(data_dir / "cre.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM contracts").fetchone()[0] == 20
        assert conn.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone()[0] == 1
    assert len(list((data_dir / "pdfs").glob("*.pdf"))) == 20

    assert f"running at {base}" in log.read_text()

    # And the worker started by make run consumes jobs through the file-system broker.
    check = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "api", "worker-check", "--timeout", "60"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
    )
    assert check.returncode == 0, check.stdout + check.stderr + log.read_text()[-3000:]
    assert "succeeded" in check.stdout


def test_an_agent_can_search_and_extract_on_the_embedded_default(running):
    base, _, _, log = running
    status, contract = _post(base + "/api/v1/contracts/search", {"account_number": "4350-948-342"})
    assert status == 200, contract
    status, job = _post(base + "/api/v1/extractions/create", {"contract_id": contract["contract_id"]})
    assert status == 202, job

    def finished():
        code, body = _get(base + job["location"])
        state = json.loads(body) if code == 200 else {}
        return state if state.get("status") in ("succeeded", "failed") else None

    done = wait_for(finished, timeout=90, what="the extraction on the file-system broker")
    assert done["status"] == "succeeded", (done, log.read_text()[-3000:])
    status, body = _get(base + f"/api/v1/extractions/{done['result']['extraction_id']}")
    fields = json.loads(body)["fields"]
    assert fields["gap_insurance_premium"]["value"] == "795.00"
    assert fields["refund_calculation_method"]["value"] == "pro_rata"
