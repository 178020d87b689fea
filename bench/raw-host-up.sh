#!/usr/bin/env bash
# The raw baseline of a fresh host-mode up, done by hand: what a developer would type to get the
# same result as `sess up` of fixtures/bench-host (worktree, two processes, the same probes).
# Usage: raw-host-up.sh REPO WORKTREE BRANCH DB_PORT WEB_PORT LOGDIR
set -euo pipefail
repo=$1 wt=$2 branch=$3 db=$4 web=$5 logs=$6
git -C "$repo" worktree add --quiet -b "$branch" "$wt" HEAD
cd "$wt"
setsid sh -c "node servers/tcp.js $db --delay ${BOOT_MS:-0}" >"$logs/db.log" 2>&1 </dev/null &
until (exec 3<>"/dev/tcp/127.0.0.1/$db") 2>/dev/null; do sleep 0.05; done
DB_ADDR="127.0.0.1:$db" setsid sh -c "node servers/http.js $web --needs \$DB_ADDR --delay ${BOOT_MS:-0}" >"$logs/web.log" 2>&1 </dev/null &
until curl -fs -o /dev/null "http://127.0.0.1:$web/health"; do sleep 0.05; done
