# shellcheck shell=bash
#
# The snapshot section of scripts/bench (docs/PERFORMANCE.md, "Snapshot"):
# how fast sluice reads an existing table, next to how fast the same rows
# can be SELECTed at all, measured in the same run. Sourced by scripts/bench
# once bench.std is loaded; uses its helpers (measure, sluice_config, sql,
# master_pos) and variables (WORK, SLUICE, REPEAT, ALSO, KAFKA, ...).
#
# Per run, on bench.std:
#   mariadb --quick              the C client streaming SELECT * to /dev/null
#   select-stream binary|text    mysql_async's rows, whole table (bench/src/bin/select_stream.rs)
#   select-stream chunks N       the same in keyset pages of N rows, as the snapshot pages
#   snapshot null N              sluice, [snapshot] mode = "initial", chunk_rows = N, null sink
#   snapshot kafka e2e           the same to tansu (restarted empty), messages counted by consuming

SNAP_RESULTS="$WORK/snapshot.tsv"
SNAP_CONSUMED="$WORK/snapshot-consumed.tsv"
# The default chunk size and one larger.
SNAP_CHUNKS=(8192 32768)

# snapshot_sluice WHAT SINK CHUNK [BINARY]: sluice snapshotting bench.std
# alone, streaming from the binlog's end, stopping when both are done.
snapshot_sluice() {
    local what="$1" sink="$2" chunk="$3" bin="${4:-$SLUICE}" cfg
    cfg="$(SNAPSHOT_MODE=initial SNAPSHOT_CHUNK="$chunk" \
        sluice_config "snap-${what// /-}" "$(master_pos)" "$sink")"
    printf '\n[[rules]]\ntables = ["bench.std"]\n' >>"$cfg"
    measure std "$what" "$ROWS" "$WORK/snap-${what// /-}.log" -- \
        env NO_COLOR=1 SLUICE_LOG=info "$bin" run --config "$cfg"
}

# One round of every snapshot measurement.
snapshot_round() {
    local chunk a
    measure std "mariadb --quick" "$ROWS" "$WORK/snap-mariadb.log" -- \
        bash -c "mariadb --no-defaults -h127.0.0.1 -P'$MYSQL_PORT' -uroot --quick -N \
            -e 'SELECT * FROM bench.std' >/dev/null"
    measure std "select-stream binary" "$ROWS" "$WORK/snap-select-binary.log" -- \
        "$WORK/bin/select-stream" --url "$MYSQL_URL" --table bench.std --protocol binary
    measure std "select-stream text" "$ROWS" "$WORK/snap-select-text.log" -- \
        "$WORK/bin/select-stream" --url "$MYSQL_URL" --table bench.std --protocol text
    measure std "select-stream chunks ${SNAP_CHUNKS[0]}" "$ROWS" "$WORK/snap-select-chunks.log" -- \
        "$WORK/bin/select-stream" --url "$MYSQL_URL" --table bench.std --chunk "${SNAP_CHUNKS[0]}" --key id
    for chunk in "${SNAP_CHUNKS[@]}"; do
        snapshot_sluice "snapshot null $chunk" null "$chunk"
    done
    for a in "${ALSO[@]}"; do
        snapshot_sluice "snapshot ${a%%=*} null ${SNAP_CHUNKS[0]}" null "${SNAP_CHUNKS[0]}" "${a#*=}"
    done
    if [ "$KAFKA" = 1 ]; then
        scripts/services restart tansu >"$WORK/services.log" 2>&1
        snapshot_sluice "snapshot kafka e2e" kafka "${SNAP_CHUNKS[0]}"
        local counted
        counted="$("$WORK/bin/count-topic" --brokers "$BROKERS" --topic bench.std --expect "$ROWS" \
            2>>"$WORK/snap-count.log" | sed -nE 's/^messages=([0-9]+).*/\1/p')"
        say "snapshot kafka e2e: ${counted:-?} messages consumed from bench.std"
        printf 'snapshot kafka e2e\t%s\n' "${counted:-?}" >>"$SNAP_CONSUMED"
    fi
}

# Runs REPEAT rounds, interleaved, so load on the machine hits every
# measurement alike; snapshot_summary prints the table.
bench_snapshot() {
    local i saved="$RESULTS"
    say "--- snapshot of bench.std: $ROWS rows, $REPEAT rounds"
    : >"$SNAP_RESULTS"
    : >"$SNAP_CONSUMED"
    RESULTS="$SNAP_RESULTS"
    for ((i = 1; i <= REPEAT; i++)); do
        snapshot_round
    done
    RESULTS="$saved"
}

# Seconds and rows of a snapshot run, from sluice's log. The table's time:
# from "snapshot queued" (the first chunk is requested at the same
# boundary) to "snapshot of the table finished ... rows=N secs=S", by the
# log's timestamps (its secs= has a tenth of a second's resolution, a fifth
# of a 1M-row run; it is the fallback). For Kafka, from "starting from" to
# "stopped", after the last acknowledgement.
snapshot_secs_of() {
    python3 - "$1" "$2" <<'PY'
import re, sys
from datetime import datetime
what, log = sys.argv[1], sys.argv[2]
start = end = queued = done = None
rows, secs = "?", None
for line in open(log, errors="replace"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z", line)
    if not m:
        continue
    t = datetime.fromisoformat(m.group(1)[:26])
    if "starting from" in line or "resuming from" in line:
        start = t
    if "snapshot queued" in line and queued is None:
        queued = t
    if "snapshot of the table finished" in line and "table=std" in line:
        done = t
        r = re.search(r"\brows=(\d+)", line)
        s = re.search(r"\bsecs=\"?([0-9.]+)", line)
        rows = r.group(1) if r else "?"
        secs = float(s.group(1)) if s else None
    if re.search(r"\bstopped\b", line) and "pipeline stopped" not in line:
        end = t
if queued and done:
    secs = (done - queued).total_seconds()
if "kafka" in what:
    secs = (end - start).total_seconds() if start and end else None
print(f"{secs:.3f}" if secs else "nan", rows)
PY
}

snapshot_summary() {
    echo
    echo "Snapshot of bench.std ($ROWS rows), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
    python3 - "$SNAP_RESULTS" "$SNAP_CONSUMED" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
consumed = {}
for l in open(sys.argv[2]):
    if l.strip():
        what, n = l.rstrip("\n").split("\t")
        consumed.setdefault(what, []).append(n)
def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
order, runs = [], {}
for r in rows:
    if r[1] not in runs:
        order.append(r[1])
    runs.setdefault(r[1], []).append(r)
s = {}
for what, rs in runs.items():
    ok = [r for r in rs if len(r) >= 11 and r[3] not in ("nan", "")]
    if not ok:
        continue
    n = int(ok[0][2])
    s[what] = dict(
        rate=median([n / float(r[3]) for r in ok]),
        wall=median([n / float(r[4]) for r in ok]),
        cpu=median([float(r[5]) + float(r[6]) for r in ok]),
        rss=max(int(r[7]) for r in ok),
        srv=median([float(r[9]) for r in ok]),
        brk=median([float(r[10]) for r in ok]),
        rows=ok[-1][8], runs=len(ok), n=n,
    )
quick = s.get("mariadb --quick", {}).get("rate")
stream = s.get("select-stream binary", {}).get("rate")
pct = lambda a, b: f"{100 * a / b:.0f} %" if b else "-"
hdr = ("measurement", "rows/s", "rows/s by wall", "% of mariadb --quick", "% of mysql_async binary",
       "CPU-s", "CPU-s/M rows", "peak RSS MB", "server CPU-s", "broker CPU-s", "runs", "rows")
print()
print("| " + " | ".join(hdr) + " |")
print("|" + "|".join(["---"] * len(hdr)) + "|")
for what in order:
    if what not in s:
        print(f"| {what} | failed |" + " |" * (len(hdr) - 2))
        continue
    m = s[what]
    got = m["rows"]
    if what in consumed:
        got += f", consumed {'/'.join(consumed[what])}"
    print(f"| {what} | {m['rate']:,.0f} | {m['wall']:,.0f} | {pct(m['rate'], quick)} | {pct(m['rate'], stream)} | "
          f"{m['cpu']:.2f} | {m['cpu'] / m['n'] * 1e6:.2f} | {m['rss'] / 1024:.0f} | {m['srv']:.2f} | {m['brk']:.2f} | "
          f"{m['runs']} | {got} |")
print()
print("rows/s: mariadb --quick by wall time; select-stream by its own timer (after connecting); snapshot null")
print("by the table's time in sluice's log (\"snapshot queued\" to \"snapshot of the table finished\"); snapshot")
print("kafka e2e from \"starting from\" to \"stopped\" (every message acknowledged). rows/s by wall: the whole process.")
print("Medians over the runs (peak RSS: the largest). Targets (issue #12): snapshot null >= 70 % of the")
print("SELECT limit, end to end >= 250k rows/s; nothing passes or fails here. Raw: " + sys.argv[1])
PY
}
