"""The Debian package: builds, installs into this machine, puts files where documented, has a
unit systemd accepts, enables without starting, and removes cleanly (purge removes the config).
"""
import glob
import os
import subprocess

from harness import ROOT

FILES = ["/usr/sbin/zerotrace", "/lib/systemd/system/zerotrace.service",
         "/etc/zerotrace/zerotrace.yaml", "/usr/share/doc/zerotrace/README.md"]
WANTS = "/etc/systemd/system/multi-user.target.wants/zerotrace.service"


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def test_deb_install_verify_remove():
    for old in glob.glob(os.path.join(ROOT, "build", "zerotrace_*.deb")):
        os.unlink(old)
    sh("make", "-C", ROOT, "deb")
    debs = glob.glob(os.path.join(ROOT, "build", "zerotrace_*_amd64.deb"))
    assert len(debs) == 1
    deb = debs[0]
    assert sh("dpkg-deb", "-f", deb, "Package").stdout.strip() == "zerotrace"
    try:
        sh("dpkg", "-i", deb)
        for f in FILES:
            assert os.path.exists(f), f
        assert os.access("/usr/sbin/zerotrace", os.X_OK)
        assert sh("dpkg-query", "-W", "-f=${Conffiles}", "zerotrace").stdout.split()[0] == \
            "/etc/zerotrace/zerotrace.yaml"
        # enabled, not started
        assert os.path.islink(WANTS)
        r = sh("systemd-analyze", "verify", "/lib/systemd/system/zerotrace.service", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "zerotrace" not in (r.stdout + r.stderr)
        r = sh("/usr/sbin/zerotrace", "-c", "/etc/zerotrace/zerotrace.yaml", "--check-config")
        assert "configuration is valid" in r.stdout
        unit = open("/lib/systemd/system/zerotrace.service").read()
        for line in ["Type=notify", "WatchdogSec=", "Restart=on-failure", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ProtectHome=yes",
                     "CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_SYS_PTRACE "
                     "CAP_DAC_READ_SEARCH CAP_NET_ADMIN CAP_SYS_RESOURCE CAP_SYS_ADMIN"]:
            assert line in unit
        assert "User=" not in unit and "privileged" not in unit
        # remove keeps the admin's configuration, purge does not
        sh("dpkg", "-r", "zerotrace")
        assert not os.path.exists("/usr/sbin/zerotrace")
        assert not os.path.exists("/lib/systemd/system/zerotrace.service")
        assert os.path.exists("/etc/zerotrace/zerotrace.yaml")
        sh("dpkg", "-P", "zerotrace")
        assert not os.path.exists("/etc/zerotrace")
        assert not os.path.lexists(WANTS)
    finally:
        sh("dpkg", "-P", "zerotrace", check=False)
