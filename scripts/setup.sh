#!/usr/bin/env bash
# Sets up a fresh clone: npm dependencies, then the addon (cargo) and the wrapper (tsc),
# both built from source. With --test-tools it also installs the
# real consumers the tests check the exposition with: promtool (Debian's `prometheus`),
# Debian's Pushgateway, Python's `prometheus_client`, and the official OTLP definitions
# (Python's `opentelemetry-proto`) that decode what the exporters push, and botocore,
# the AWS SDK's own SigV4 signer that checks the exporters' signatures, and google-auth,
# which verifies their Google service-account assertions.
set -euo pipefail
cd "$(dirname "$0")/.."

test_tools=false
for arg in "$@"; do
  case "$arg" in
    --test-tools) test_tools=true ;;
    *) echo "usage: $0 [--test-tools]" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null || { echo "setup: $1 is required ($2)" >&2; exit 1; }; }
need node "Node.js >= 20.17"
need npm "comes with Node.js"
need cargo "the Rust toolchain"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 17) ? 0 : 1)' ||
  { echo "setup: Node.js >= 20.17 is required, found $(node --version)" >&2; exit 1; }

if $test_tools; then
  if ! command -v promtool >/dev/null || ! command -v prometheus-pushgateway >/dev/null; then
    as_root=""
    [ "$(id -u)" = 0 ] || as_root="sudo"
    $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
      prometheus prometheus-pushgateway >/dev/null
  fi
  python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install --quiet 'prometheus_client==0.26.0'
  python3 -c 'import opentelemetry.proto' 2>/dev/null || python3 -m pip install --quiet 'opentelemetry-proto==1.45.2'
  python3 -c 'import botocore' 2>/dev/null || python3 -m pip install --quiet 'botocore==1.44.5'
  python3 -c 'import google.auth' 2>/dev/null || python3 -m pip install --quiet 'google-auth==2.62.2'
  promtool --version | head -n 1
  prometheus-pushgateway --version 2>&1 | head -n 1
  python3 -c 'import prometheus_client, sys; sys.stdout.write("prometheus_client ok\n")'
  python3 -c 'import opentelemetry.proto, sys; sys.stdout.write("opentelemetry-proto ok\n")'
  python3 -c 'import botocore, sys; sys.stdout.write("botocore " + botocore.__version__ + "\n")'
  python3 -c 'import google.auth, sys; sys.stdout.write("google-auth " + google.auth.__version__ + "\n")'
fi

# Installs to the lockfile, then builds the addon (napi build, with cargo) and the
# wrapper (tsc). The build is a step of its own rather than an npm `prepare` script, so
# that the published package carries no install-time script: users get prebuilt
# binaries. Not `npm ci`: npm drops the optional platform packages of @napi-rs/lzma (a
# dependency of @napi-rs/cli that wants Node >= 22.20) from the lockfile, and `npm ci`
# then refuses it as out of sync; `npm install` resolves them.
npm install --no-audit --no-fund
npm run build
