#!/usr/bin/env bash
# make bench: end-to-end throughput and peak memory of a TrackTik sync of
# 250,000 records (simulator -> plugin -> Parquet), next to the floor of the
# same bytes fetched and decoded in one process. Run after `make build`.
# Extra arguments go to the bench program, e.g.
#   ./scripts/bench.sh -runs 5 -records 500000
#   ./scripts/bench.sh -stages "sink,end to end" -profile /tmp/prof
#   ./scripts/bench.sh -latency 50ms -records 100000   # a distant vendor:
#     quiver end to end against the sequential pager (the fetch stage)
# In the connector and end-to-end stages the simulator serves each page from
# memory after rendering it once, so that it takes little of the CPU quiver
# runs on (a vendor's server runs elsewhere); -sim-cache=false renders every
# page, as the figures before December 2026 did.
# The host's and plugin's peak RSS are also measured at -rss-records
# (default 1000000) for comparison with the main size: they must not grow
# with the records, e.g.
#   ./scripts/bench.sh -records 100000 -rss-records 2000000 -stages "end to end"
# With -rate-limit N (requests per minute) it runs the rate bench instead:
# Capillary customers against the simulator's per-minute limit, the
# connector pacing itself at N and then at 4N (the 429s bind), and the
# simulator's admitted requests in one whole minute against N (~3 min):
#   ./scripts/bench.sh -rate-limit 120
# With -all-streams it syncs every TrackTik stream at once (-records each)
# instead; -baseline DIR alternates each run with another build's quiver and
# plugins (e.g. an older commit's bin/) and prints this build against it:
#   ./scripts/bench.sh -all-streams -records 50000 -baseline ../old/bin
# Without -all-streams, -baseline adds the stage "baseline e2e": end to end
# with the other build, after this build's in every round:
#   ./scripts/bench.sh -runs 7 -stages "end to end" -baseline ../old/bin
# The report ends with the computed limit, 1/max(sink, (connector+sink)/2),
# and end to end's share of it; then the pipeline stage (the connector and
# the sink in one process) against the limit, and end to end against the
# pipeline: what sharing two cores costs, and what the plugin's process
# boundary costs.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
[ -x ./bin/quiver ] && [ -x ./bin/quiver-tracktik ] && [ -x ./bin/quiver-capillary ] || { echo "bench: run make build first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$GO build -o "$tmp/bench" ./internal/bench
echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') $($GO version | cut -d' ' -f3) $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2/1e6}' /proc/meminfo 2>/dev/null), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
exec "$tmp/bench" -quiver ./bin/quiver "$@"
