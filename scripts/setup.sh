#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test and run hrflow.
# Idempotent: does nothing when everything is present. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  librdkafka-dev kafkacat libpq-dev postgresql-15 postgresql-client-15
  libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libzstd-dev libavro-dev
  libgtest-dev libgmock-dev libbenchmark-dev libfaketime
  libexpat1-dev libxml2-utils time
  python3-psycopg2 libpostgresql-jdbc-java default-jre-headless
  chromium
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm may come from another source than Debian (e.g. a vendor repository); only a missing
# command makes us install Debian's.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The managed PostgreSQL and the test fixture start their own clusters; Debian's default
# cluster is not needed, but its binaries must be on a known path.
if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "setup: PostgreSQL 15 binaries not found under /usr/lib/postgresql/15/bin" >&2; exit 1
fi

scripts/fetch-npm-deps.sh

# The browser test of the web UI drives Debian's chromium with playwright-core (pinned in
# web/package-lock.json), installed into web/node_modules; nothing is downloaded besides the package.
if [ ! -d web/node_modules/playwright-core ]; then
  echo "setup: installing playwright-core for the browser test (web/node_modules)"
  (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
