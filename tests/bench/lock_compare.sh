#!/usr/bin/env bash
# lock_compare.sh BEFORE AFTER REPS [ITEMS]: two builds of lock_bench (before and after a change to
# libcmwq's locks) run alternately, REPS times each, one round per run, so that both see the same
# machine; prints, per figure, each build's median (min-max) over the runs and the ratio after /
# before of the runs paired in order, median (min-max).
set -euo pipefail
before=$1 after=$2 reps=$3 items=${4:-200000}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ((i = 0; i < reps; i++)); do
  "$before" --rounds=1 --items="$items" --tsv > "$out/before.$i"
  "$after" --rounds=1 --items="$items" --tsv > "$out/after.$i"
done
for ((i = 0; i < reps; i++)); do
  awk -v rep="$i" -v side=before '{print side, rep, $1, $2}' "$out/before.$i"
  awk -v rep="$i" -v side=after '{print side, rep, $1, $2}' "$out/after.$i"
done | awk -v reps="$reps" '
  function sorted(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  }
  function spread(key, fmtc,   a, n, i) {
    n = 0
    for (i = 0; i < reps; i++) if ((key, i) in v) a[++n] = v[key, i]
    if (n == 0) return "-"
    sorted(a, n)
    return sprintf("%" fmtc " (%" fmtc "-%" fmtc ")", a[int(n / 2) + 1], a[1], a[n])
  }
  {
    v[$1 "|" $3, $2] = $4
    if (!($3 in seen)) { seen[$3] = 1; order[++m] = $3 }
  }
  END {
    print "| figure | before | after | after / before |"
    print "|---|---|---|---|"
    for (k = 1; k <= m; k++) {
      name = order[k]
      for (i = 0; i < reps; i++)
        if (("before|" name, i) in v && ("after|" name, i) in v && v["before|" name, i] > 0)
          v["ratio|" name, i] = v["after|" name, i] / v["before|" name, i]
      f = name ~ /share|acquisitions|cap64/ ? ".3f" : ".0f"
      printf "| %s | %s | %s | %s |\n", name, spread("before|" name, f), spread("after|" name, f), spread("ratio|" name, ".2f")
    }
  }'
