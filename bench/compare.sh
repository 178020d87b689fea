#!/usr/bin/env bash
# Two revisions of sess on the same benchmarks, alternating in one run on this machine (each run
# prints its ratios against the raw baseline measured beside it): the way to say whether a change
# made sess slower. Usage: bench/compare.sh OLD_REV NEW_REV [ROUNDS_EACH] [SUITES...]
#   bench/compare.sh f11a179 HEAD 2 fresh noop ls reup container reup-container
set -euo pipefail
old=$1 new=$2 rounds=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(fresh noop ls reup container reup-container)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; git -C "$root" worktree remove --force "$work/new" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
for side in old new; do
  rev=$old; [ "$side" = new ] && rev=$new
  git -C "$root" worktree add -q --detach "$work/$side" "$rev"
  ln -s "$root/node_modules" "$work/$side/node_modules"
  (cd "$work/$side" && npm run build >/dev/null)
done
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    echo "=== $side ($( [ $side = old ] && echo "$old" || echo "$new" )), round $round"
    (cd "$work/$side" && BENCH_ROUNDS=${BENCH_ROUNDS:-8} node bench/run.mjs "${suites[@]}" 2>/dev/null | tail -n +3)
  done
done
