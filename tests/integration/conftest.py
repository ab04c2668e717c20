"""Fixtures for the integration tests: a real Jaeger, the real agent, real servers.

These tests need root (they load BPF programs); CI runs as root.
"""
import os
import random
import shutil
import string

import pytest

from harness import AGENT_LOGS, OTLP_HTTP, Agent, Jaeger, JaegerProcess, Procs


def pytest_sessionstart(session):
    """Only this run's agent logs: a checkout that runs the tests often would pile them up."""
    shutil.rmtree(AGENT_LOGS, ignore_errors=True)


@pytest.fixture
def nonce():
    """A path prefix unique to one test, made of letters so routes never template it."""
    return "/t" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))


@pytest.fixture(scope="session")
def jaeger():
    proc = JaegerProcess()
    try:
        yield Jaeger()
    finally:
        proc.stop()


def agent_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ZEROTRACE_"))}
    env["ZEROTRACE_BATCH_DELAY_MS"] = "200"
    env.update(extra or {})
    return env


@pytest.fixture
def agent_factory():
    agents = []

    def start(*args, env_extra=None):
        a = Agent(list(args), agent_env(env_extra))
        agents.append(a)
        return a

    yield start
    for a in agents:
        a.kill()


@pytest.fixture(params=["auto", "tracepoint"])
def otlp_agent(request, jaeger, agent_factory):
    """The agent exporting OTLP/HTTP protobuf to the session's Jaeger, once on the capture path
    it picks for this kernel (the socket tracepoints from 6.16 on) and once on the syscall
    tracepoints that serve the kernels before."""
    return agent_factory("--hooks", request.param,
                         env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})


@pytest.fixture
def procs():
    p = Procs()
    yield p
    p.stop()
