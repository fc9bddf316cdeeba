#!/usr/bin/env bash
# Compatibility suite: the official Alibaba Cloud Python SDKs drive aliyun-fake.
#
# 1. Creates (once) a venv keyed by the hash of requirements.txt under
#    ${XDG_CACHE_HOME:-$HOME/.cache}/aliyun-ccm/venv-<sha>.
# 2. Builds the fake (cargo build -p aliyun-fake).
# 3. Starts it on a free loopback port with seed.yaml, runs pytest, stops it.
# Extra arguments go to pytest (e.g. `run.sh -k route -x`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
requirements="$here/requirements.txt"
sha="$(sha256sum "$requirements" | cut -c1-16)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/aliyun-ccm/venv-$sha"

if [ ! -f "$venv/.complete" ]; then
    echo "sdk-tests: creating $venv" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    touch "$venv/.complete"
fi

(cd "$repo" && cargo build --quiet -p aliyun-fake)
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
fake="$target_dir/debug/aliyun-fake"

workdir="$(mktemp -d)"
"$fake" --listen 127.0.0.1:0 --seed "$here/seed.yaml" --route-entry-delay-ms 300 \
    --addr-file "$workdir/addr" >"$workdir/fake.log" 2>&1 &
fake_pid=$!
cleanup() {
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
    rm -rf "$workdir"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    [ -s "$workdir/addr" ] && break
    if ! kill -0 "$fake_pid" 2>/dev/null; then
        cat "$workdir/fake.log" >&2
        echo "sdk-tests: aliyun-fake exited before listening" >&2
        exit 1
    fi
    sleep 0.1
done
if [ ! -s "$workdir/addr" ]; then
    echo "sdk-tests: aliyun-fake did not start listening" >&2
    exit 1
fi
ALIYUN_FAKE_ADDR="$(cat "$workdir/addr")"
export ALIYUN_FAKE_ADDR
echo "sdk-tests: aliyun-fake at $ALIYUN_FAKE_ADDR" >&2

cd "$here"
status=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- aliyun-fake log ---" >&2
    tail -n 50 "$workdir/fake.log" >&2
fi
exit "$status"
