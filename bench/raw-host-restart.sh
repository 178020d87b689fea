#!/usr/bin/env bash
# The raw baseline of a re-up that changes one host service: restart that one service by hand
# (stop its process group, wait until it is gone, start it with the new env, poll its probe).
# Usage: raw-host-restart.sh PGID WORKTREE PORT LOG WEB_VERSION
set -euo pipefail
pgid=$1 wt=$2 port=$3 log=$4 version=$5
kill -TERM -- "-$pgid" 2>/dev/null || true
while ps -o stat= -g "$pgid" 2>/dev/null | grep -qv '^Z'; do sleep 0.02; done
cd "$wt"
WEB_VERSION=$version setsid sh -c "node servers/http.js $port --delay ${BOOT_MS:-0}" >>"$log" 2>&1 </dev/null &
until curl -fs -o /dev/null "http://127.0.0.1:$port/health"; do sleep 0.05; done
echo $!
