# Sourced by tools/*: the toolchain on PATH and the repository root.
TIERKIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
# At most two build jobs: the machines have two cores.
TIERKIT_JOBS=${TIERKIT_JOBS:-2}
export TIERKIT_ROOT TIERKIT_JOBS
