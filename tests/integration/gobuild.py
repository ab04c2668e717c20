"""The Go test apps built by every Go the matrix names, in every way a user builds them:
Debian's golang-1.19, this machine's Go, and go1.27.3 through GOTOOLCHAIN (the newest the module
proxy serves here); normal, stripped (-s -w), PIE, and cgo (dynamically linked to libc).
Built once into build/tools/go/ and rebuilt when the sources change."""
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "build", "tools", "go")

# name: (go command, extra environment)
TOOLCHAINS = {
    "go1.19": ("/usr/lib/go-1.19/bin/go", {"GOTOOLCHAIN": "local"}),
    "local": ("go", {"GOTOOLCHAIN": "local"}),
    "go1.27.3": ("go", {"GOTOOLCHAIN": "go1.27.3"}),
}
VARIANTS = {
    "default": ([], {"CGO_ENABLED": "0"}),
    "stripped": (["-ldflags=-s -w"], {"CGO_ENABLED": "0"}),
    "pie": (["-buildmode=pie"], {"CGO_ENABLED": "0"}),
    "cgo": (["-tags", "netcgo"], {"CGO_ENABLED": "1"}),
}


def build(app, toolchain, variant, modfile=None):
    """Path of tests/integration/apps/APP built by toolchain in variant; modfile: another
    go.mod of the app's (other library versions: grpc_go's go119.mod, latest.mod)."""
    src = os.path.join(ROOT, "tests", "integration", "apps", app)
    tag = f"-{modfile.split('.')[0]}" if modfile else ""
    out = os.path.join(OUT, f"{app}-{toolchain}-{variant}{tag}")
    newest = max(os.path.getmtime(os.path.join(src, f)) for f in os.listdir(src))
    if os.path.exists(out) and os.path.getmtime(out) >= newest:
        return out
    go, env = TOOLCHAINS[toolchain]
    flags, venv = VARIANTS[variant]
    os.makedirs(OUT, exist_ok=True)
    flags = flags + ([f"-modfile={modfile}"] if modfile else [])
    r = subprocess.run([go, "build", "-o", out] + flags + ["."], cwd=src, capture_output=True,
                       text=True, env=dict(os.environ, **env, **venv), timeout=600)
    assert r.returncode == 0, f"{toolchain} {variant}: {r.stderr}"
    return out


def version_of(path):
    """The Go version a binary was built with, as `go version` reads it."""
    out = subprocess.run(["go", "version", path], capture_output=True, text=True, check=True)
    return out.stdout.split(": ", 1)[1].split()[0]
