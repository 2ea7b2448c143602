# Sourced by scripts/test and scripts/demo: create or reuse .venv with the pack installed.
# Reinstalls only when pyproject.toml changed since the last install.
ensure_venv() {
    local root stamp want
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    VENV="$root/.venv"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "creating $VENV" >&2
        python3 -m venv "$VENV"
    fi
    stamp="$VENV/.hpcskills-installed"
    want=$(sha256sum "$root/pyproject.toml" | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "installing hpc-skills and test tools into $VENV" >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root[test]"
        echo "$want" > "$stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}
