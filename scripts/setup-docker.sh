#!/usr/bin/env bash
# Installs and starts a Docker engine with Compose v2 on a Debian bookworm machine (CI or a fresh
# dev box), from Debian's trixie suite, then builds the local test images with
# scripts/build-test-images.sh (no image can be pulled here). Also installs openssh-server and rsync
# (from bookworm) for the tests of a remote engine over ssh.
# Only the packages that must come from trixie are taken from it, by name (`docker.io/trixie`):
# `apt-get install -t trixie` would make trixie the target release of every dependency too and
# upgrade apt, dpkg, perl, systemd and python3 on the machine. trixie is pinned low (100) so that a
# later `apt-get upgrade` does not move anything else to it either.
set -euo pipefail

need_root() { if [ "$(id -u)" != 0 ]; then echo "setup-docker: run as root" >&2; exit 1; fi; }

install_engine() {
  if command -v dockerd >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then return; fi
  need_root
  if [ ! -f /etc/apt/sources.list.d/trixie.sources ]; then
    sed 's/^Suites:.*/Suites: trixie/' /etc/apt/sources.list.d/debian.sources | awk '/^$/{exit} 1' \
      > /etc/apt/sources.list.d/trixie.sources
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie
  fi
  apt-get update -qq
  # Compose v2.24.4+ (for `!override`) and its engine exist only in trixie. apt takes from trixie
  # the dependencies that bookworm cannot satisfy (containerd, docker-cli, buildx) and the rest from
  # bookworm.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io/trixie docker-compose/trixie >/dev/null
}

start_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  need_root
  nohup dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then return; fi
    sleep 0.5
  done
  echo "setup-docker: dockerd did not answer within 60s; see /tmp/dockerd.log" >&2
  tail -20 /tmp/dockerd.log >&2 || true
  exit 1
}

# The remote-engine tests (test/docker/sshd.test.ts) run a private sshd on a loopback port of their
# own and sync over it with rsync. Both come from bookworm, by plain name (no `/trixie`, no `-t`):
# openssh-server must be the version of openssh-client, so both go in one apt-get call and move in
# step. No system sshd is started or enabled: a policy-rc.d that denies every start covers the
# install (unless one is already there, as in Docker images), and whatever the postinst started
# anyway is stopped by its pid file.
install_ssh() {
  if [ -x /usr/sbin/sshd ] && command -v rsync >/dev/null 2>&1; then return; fi
  need_root
  local policy=/usr/sbin/policy-rc.d ours=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && ours=1
  fi
  apt-get update -qq
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client rsync >/dev/null || rc=$?
  if [ -n "$ours" ]; then rm -f "$policy"; fi
  if [ "$rc" != 0 ]; then echo "setup-docker: installing openssh-server and rsync failed" >&2; exit "$rc"; fi
  if [ -d /run/systemd/system ]; then
    systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
  elif command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d ssh disable >/dev/null 2>&1 || true
  fi
  local pidfile pid
  for pidfile in /run/sshd.pid /var/run/sshd.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
  done
}

install_engine
start_engine
install_ssh
docker compose version
bash "$(dirname "$0")/build-test-images.sh"
