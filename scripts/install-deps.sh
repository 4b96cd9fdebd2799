#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking
# trialcore needs, and the web application's npm packages (web/package-lock.json).
# Idempotent: installs only what is missing. Works as root on a fresh Debian 12
# machine, or through sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ make cmake ccache pkg-config git  # toolchain
  clang-format                          # the format check (ctest "format")
  libsqlite3-dev sqlite3                # the embedded event store
  libpq-dev                             # the PostgreSQL event store (libpq)
  postgresql-15                         # the PostgreSQL server the store's tests start
  haproxy                               # the load balancer of the failover test and of N servers
  libnats-dev                           # publishing events to NATS JetStream (nats.c)
  nats-server                           # the NATS server the publisher's tests start
  libcurl4-openssl-dev                  # e-mail to unblinded contacts by SMTP (src/notify)
  python3-aiosmtpd                      # the SMTP sink the notifier's tests start
  libssl-dev                            # SHA-256, Ed25519
  nlohmann-json3-dev                    # JSON parsing (kept out of headers)
  libcli11-dev                          # command line
  libboost-math-dev                     # gamma functions for signal detection (EBGM)
  libzip-dev                            # FAERS quarterly zip files
  libxml2-dev                           # E2B(R3), ODM and Define-XML, XML Schema validation
  libreadstat-dev                       # SAS XPT v5 datasets in and out (SDTM)
  libpango1.0-dev                       # PDF casebooks of the site archive: pango lays out text on cairo's PDF surface (libcairo2-dev)
  fonts-dejavu-core                     # the casebooks' font (Latin, Greek, Cyrillic: names with accents)
  poppler-utils                         # pdftotext and pdfinfo: the casebook tests read the PDFs back
  python3-jsonschema                    # the tests check Dataset-JSON against CDISC's JSON Schemas
  libyaml-cpp-dev                       # study definitions, rule test cases
  libboost-dev                          # the HTTP transport (Boost.Beast, Asio)
  libsodium-dev                         # argon2id password hashes
  libcpp-httplib-dev                    # the tests' HTTP client
  libgtest-dev libgmock-dev             # tests
  coreutils                             # sha256sum, the peer of the verify benchmark
  wrk                                   # HTTP load for the API benchmark
  chromium chromium-driver              # the web application's end-to-end tests
)
# Node.js with npm builds the web application; a machine that already has
# them (Debian's or NodeSource's) keeps its own.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The web application's packages, the versions web/package-lock.json locks,
# from the npm registry. Not `npm ci`: it refuses a lock file that lists no
# entry for another platform's optional binaries (esbuild's, rollup's), which
# a registry mirror may not carry; `--no-save` leaves the lock file as it is.
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "installing the web application's npm packages" >&2
  (cd web && npm install --no-save --no-audit --no-fund --loglevel=error)
fi
