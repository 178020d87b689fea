#!/usr/bin/env bash
# Builds the local Docker images used by sess's tests. Nothing can be pulled from an image registry
# here, so both images are made with `docker import` from root folders built out of Debian packages:
#
#   sess-test/busybox:1  - Debian's busybox-static with all applets symlinked in /bin
#                          (sh, httpd, nc, sleep, wget, ...), a root user, /tmp and /var/www.
#   sess-test/pgredis:1  - `debootstrap --variant=minbase` bookworm with postgresql-15 and
#                          redis-server, plus /usr/local/bin/pg-start and /usr/local/bin/redis-start.
#
# Idempotent: an image that already exists is skipped unless --rebuild is given. The debootstrap
# root is cached as a tarball under ${SESS_IMAGE_CACHE:-/var/cache/sess-test-images}, keyed by a hash
# of its recipe, so a run that finds the tarball but not the image only re-imports it.
# Needs root and a running Docker engine; installs busybox-static / debootstrap with apt-get if
# they are missing.
#
# Usage: scripts/build-test-images.sh [--rebuild] [--refresh-cache] [busybox|pgredis ...]
#   --rebuild        rebuild the images even if they exist (pgredis re-imports the cached tarball)
#   --refresh-cache  also run debootstrap again instead of using the cached tarball
#   busybox|pgredis  build only these images (default: both)
# Environment:
#   SESS_IMAGE_CACHE   cache folder (default /var/cache/sess-test-images)
#   SESS_DEBIAN_MIRROR Debian mirror for debootstrap (default: the one the machine's apt sources use)
set -euo pipefail
set -o errtrace # run the ERR trap (which names the failing line) inside functions too

BUSYBOX_IMAGE=sess-test/busybox:1
PGREDIS_IMAGE=sess-test/pgredis:1
SUITE=bookworm
PG_MAJOR=15
PGREDIS_PACKAGES="postgresql-${PG_MAJOR},redis-server"
CACHE_DIR="${SESS_IMAGE_CACHE:-/var/cache/sess-test-images}"

log() { printf 'build-test-images: %s\n' "$*" >&2; }
die() { printf '\nbuild-test-images: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'printf "\nbuild-test-images: FAILED (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

usage() { sed -n '/^# Usage:/,/^#   SESS_DEBIAN_MIRROR/s/^# \{0,1\}//p' "$0"; }

REBUILD=0
REFRESH_CACHE=0
WANT=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rebuild) REBUILD=1 ;;
    --refresh-cache) REFRESH_CACHE=1; REBUILD=1 ;;
    -h|--help) usage; exit 0 ;;
    busybox|pgredis) WANT+=("$1") ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[ ${#WANT[@]} -gt 0 ] || WANT=(busybox pgredis)

# ---------------------------------------------------------------------------------------------------
# Temp dirs and cleanup. A debootstrap that failed half-way can leave /proc, /sys or /dev bind mounts
# inside its target: unmount everything below a temp dir before deleting it, and never cross into
# another file system while deleting.
TMP_DIRS=()
unmount_below() {
  local dir=$1 m
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || log "warning: could not unmount $m"; done
}
cleanup() {
  local d
  for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
    [ -d "$d" ] || continue
    unmount_below "$d"
    rm -rf --one-file-system "$d" || log "warning: could not remove $d"
  done
}
trap cleanup EXIT
new_tmp_dir() { # $1: name prefix; sets NEW_TMP_DIR (on a real disk, not a noexec tmpfs)
  NEW_TMP_DIR=$(mktemp -d "${TMPDIR:-/var/tmp}/$1.XXXXXX") || die "cannot create a temp dir in ${TMPDIR:-/var/tmp}"
  TMP_DIRS+=("$NEW_TMP_DIR")
}

# ---------------------------------------------------------------------------------------------------
# Preconditions
[ "$(id -u)" = 0 ] || die "run as root (needs apt-get, debootstrap/chroot and root-owned files in the images)"
command -v docker >/dev/null 2>&1 || die "docker CLI not found; run scripts/setup-docker.sh first"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed); run scripts/setup-docker.sh first"
for tool in tar gzip sha256sum awk flock chroot; do
  command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found in PATH"
done

APT_UPDATED=0
ensure_pkg() { # $1: Debian package; installed with apt-get if dpkg does not have it
  local pkg=$1
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then return; fi
  command -v apt-get >/dev/null 2>&1 || die "package $pkg is missing and apt-get is not available to install it"
  log "installing $pkg with apt-get"
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq || die "apt-get update failed; cannot install $pkg"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null ||
    die "apt-get install $pkg failed"
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
    die "package $pkg still not installed after apt-get install"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# Skip check shared by both images. Returns 0 when the image must be (re)built. On --rebuild the old
# image stays tagged until the new one has passed its smoke test (see image_done / image_failed).
OLD_IMAGE_ID=
needs_build() { # $1 image, $2 recipe hash
  local image=$1 hash=$2 have
  OLD_IMAGE_ID=
  if ! image_exists "$image"; then return 0; fi
  if [ "$REBUILD" = 1 ]; then
    log "$image exists; rebuilding (--rebuild)"
    OLD_IMAGE_ID=$(docker image inspect -f '{{.Id}}' "$image")
    return 0
  fi
  have=$(image_label "$image" sess.test.recipe)
  if [ -n "$hash" ] && [ "$have" != "$hash" ]; then
    log "warning: $image exists but was built from another recipe ($have, now $hash); pass --rebuild to refresh it"
  fi
  return 1
}

image_done() { # $1 image: drop the image it replaced (best effort: containers may still use it)
  local new_id
  new_id=$(docker image inspect -f '{{.Id}}' "$1")
  if [ -n "$OLD_IMAGE_ID" ] && [ "$OLD_IMAGE_ID" != "$new_id" ]; then
    docker image rm "$OLD_IMAGE_ID" >/dev/null 2>&1 || log "note: old image ${OLD_IMAGE_ID:7:12} of $1 is still in use; not removed"
  fi
}
image_failed() { # $1 image: remove the broken new image, put the old tag back if there was one
  docker image rm -f "$1" >/dev/null 2>&1 || true
  [ -z "$OLD_IMAGE_ID" ] || docker tag "$OLD_IMAGE_ID" "$1" >/dev/null 2>&1 || true
}

# Timings, printed at the end.
SUMMARY=()
now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; } # seconds since $1
record() { SUMMARY+=("$(printf '%-22s %-30s %7ss' "$1" "$2" "$3")"); }

# ---------------------------------------------------------------------------------------------------
# 1. sess-test/busybox:1
busybox_binary() {
  local bb
  bb=$(dpkg -L busybox-static | grep -E '/s?bin/busybox$' | head -n1) || true
  if [ -z "$bb" ] || [ ! -x "$bb" ]; then die "busybox-static is installed but its busybox binary was not found"; fi
  printf '%s\n' "$bb"
}

make_busybox_root() { # $1 root dir, $2 busybox binary
  local root=$1 bb=$2 applet
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www,var/tmp,proc,sys,dev}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 700 "$root/root"
  install -m 0755 "$bb" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  echo 'sess-test busybox httpd ok' >"$root/var/www/index.html"
}

build_busybox() {
  local start bb version hash root applet
  start=$(now)
  # The recipe hash covers make_busybox_root and the busybox-static version (if it is installed;
  # an existing image is skipped without installing anything).
  version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || true)
  hash=$( { declare -f make_busybox_root; echo "$version"; } | sha256sum | cut -c1-16)
  [ -n "$version" ] || hash=
  if ! needs_build "$BUSYBOX_IMAGE" "$hash"; then
    log "$BUSYBOX_IMAGE exists; skipped"
    record "$BUSYBOX_IMAGE" "skipped (exists)" "$(since "$start")"
    return
  fi
  ensure_pkg busybox-static
  bb=$(busybox_binary)
  version=$(dpkg-query -W -f='${Version}' busybox-static)
  hash=$( { declare -f make_busybox_root; echo "$version"; } | sha256sum | cut -c1-16)
  for applet in sh httpd nc sleep wget; do
    "$bb" --list | grep -qx "$applet" || die "busybox-static $version has no '$applet' applet"
  done
  log "building $BUSYBOX_IMAGE from busybox-static $version"
  new_tmp_dir sess-busybox-root
  root=$NEW_TMP_DIR
  make_busybox_root "$root" "$bb"
  tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
    docker import \
      --change 'ENV PATH=/bin:/sbin:/usr/bin' \
      --change 'CMD ["/bin/sh"]' \
      --change "LABEL sess.test.recipe=$hash" \
      --change "LABEL sess.test.busybox-version=$version" \
      --message "sess-test busybox from Debian busybox-static $version" \
      - "$BUSYBOX_IMAGE" >/dev/null || die "docker import of $BUSYBOX_IMAGE failed"
  if ! docker run --rm --network none "$BUSYBOX_IMAGE" \
      sh -c 'for a in sh httpd nc sleep wget; do command -v $a >/dev/null || exit 1; done
             httpd --help 2>&1 | grep -q "Usage: httpd" && nc --help 2>&1 | grep -q "Usage: nc" &&
             test -d /var/www && test -d /tmp && grep -q "^root:" /etc/passwd && echo ok' |
      grep -qx ok; then
    image_failed "$BUSYBOX_IMAGE"
    die "smoke test of $BUSYBOX_IMAGE failed (sh/httpd/nc/sleep/wget); new image removed"
  fi
  image_done "$BUSYBOX_IMAGE"
  record "$BUSYBOX_IMAGE" "built" "$(since "$start")"
}

# ---------------------------------------------------------------------------------------------------
# 2. sess-test/pgredis:1
debian_mirror() {
  local m=${SESS_DEBIAN_MIRROR:-}
  if [ -z "$m" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    # deb822: the URIs of the first stanza whose Suites has the plain suite (not -security/-updates).
    m=$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
          if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
        }
        if (ok && uris != "") { print uris; exit }
      }' /etc/apt/sources.list.d/debian.sources)
    # No stanza for the suite (e.g. a host on another release): take the first non-security URI.
    [ -n "$m" ] || m=$(awk '/^URIs:/ && !/security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  # No fallback host: a machine whose apt has no Debian source cannot install packages either, and a
  # hard-coded mirror would hide that (and send traffic where the machine's owner did not choose).
  [ -n "$m" ] || die "no Debian mirror in the machine's apt sources (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list); set SESS_DEBIAN_MIRROR"
  printf '%s\n' "$m"
}

# Everything done to the debootstrap root after debootstrap. Its text is part of the cache key, so
# editing it (or the scripts written below) invalidates the cached tarball automatically.
customize_pgredis_root() { # $1 root dir
  local root=$1
  # The packaging's default cluster (/var/lib/postgresql/15/main) is not used: pg-start runs initdb.
  rm -rf "$root/var/lib/postgresql/${PG_MAJOR}" "$root/etc/postgresql/${PG_MAJOR}"
  mkdir -p "$root/var/lib/postgresql/data" "$root/var/run/postgresql" "$root/data" "$root/usr/local/bin"
  chroot "$root" chown postgres:postgres /var/lib/postgresql /var/lib/postgresql/data /var/run/postgresql
  chmod 700 "$root/var/lib/postgresql/data"
  chmod 2775 "$root/var/run/postgresql"

  cat >"$root/usr/local/bin/pg-start" <<'EOF'
#!/bin/sh
# Runs PostgreSQL in the foreground as user postgres. On first start (no $PGDATA/PG_VERSION) it
# initialises a cluster in $PGDATA with trust auth, listening on 0.0.0.0:5432 and accepting host
# connections from anywhere. Extra arguments go to postgres (e.g. pg-start -c fsync=off).
# POSTGRES_DB, if set, is created on first start.
set -eu
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
PATH="/usr/lib/postgresql/15/bin:$PATH"
export PATH

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  export HOME=/var/lib/postgresql USER=postgres LOGNAME=postgres
  if command -v setpriv >/dev/null 2>&1; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
  elif command -v runuser >/dev/null 2>&1; then
    exec runuser -u postgres -- "$0" "$@"
  else
    exec su postgres -s /bin/sh -c 'exec "$0" "$@"' -- "$0" "$@"
  fi
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "pg-start: initialising a new cluster in $PGDATA" >&2
  initdb -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-instructions
  cat >>"$PGDATA/postgresql.conf" <<'CONF'

# added by pg-start
listen_addresses = '0.0.0.0'
port = 5432
jit = off  # the image ships without LLVM
CONF
  cat >>"$PGDATA/pg_hba.conf" <<'HBA'

# added by pg-start: trust host connections from anywhere (test image only)
host    all    all    0.0.0.0/0    trust
host    all    all    ::/0         trust
HBA
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi

exec postgres -D "$PGDATA" "$@"
EOF

  cat >"$root/usr/local/bin/redis-start" <<'EOF'
#!/bin/sh
# Runs redis-server in the foreground, reachable from other containers, data in /data.
# Extra arguments go to redis-server (e.g. redis-start --appendonly yes).
set -eu
mkdir -p /data
exec redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"
EOF
  chmod 0755 "$root/usr/local/bin/pg-start" "$root/usr/local/bin/redis-start"

  # Keep the image small: apt caches and lists, docs, translations, logs; the host's identity files.
  # Also drop PostgreSQL's LLVM JIT (libLLVM + libz3 are ~130 MB of the ~425 MB): without
  # llvmjit.so the server just runs without JIT, which the tests don't need.
  rm -rf "$root/usr/lib/postgresql/${PG_MAJOR}/lib/llvmjit.so" "$root/usr/lib/postgresql/${PG_MAJOR}/lib/llvmjit_types.bc" \
    "$root/usr/lib/postgresql/${PG_MAJOR}/lib/bitcode"
  rm -f "$root"/usr/lib/*-linux-gnu/libLLVM-*.so* "$root"/usr/lib/*-linux-gnu/libz3.so*
  rm -rf "$root"/usr/share/locale/* "$root"/usr/share/i18n/*
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/log/postgresql/* "$root"/var/log/redis/* \
    "$root"/var/cache/ldconfig/aux-cache "$root"/tmp/* "$root"/var/tmp/* "$root"/root/.bash_history
  : >"$root/etc/hostname"
  rm -f "$root/etc/resolv.conf"
  [ ! -e "$root/etc/machine-id" ] || : >"$root/etc/machine-id"
}

make_pgredis_tarball() { # $1 destination tarball
  local dest=$1 mirror root
  ensure_pkg debootstrap
  mirror=$(debian_mirror)
  new_tmp_dir sess-pgredis-root
  root=$NEW_TMP_DIR
  log "debootstrap --variant=minbase --include=$PGREDIS_PACKAGES $SUITE from $mirror (takes a few minutes)"
  if ! debootstrap --variant=minbase --include="$PGREDIS_PACKAGES" "$SUITE" "$root" "$mirror" \
      >"$root.debootstrap.log" 2>&1; then
    tail -n 30 "$root.debootstrap.log" >&2 || true
    [ ! -f "$root/debootstrap/debootstrap.log" ] || tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    rm -f "$root.debootstrap.log"
    die "debootstrap of $SUITE from $mirror failed (see the log above)"
  fi
  rm -f "$root.debootstrap.log"
  unmount_below "$root" # debootstrap unmounts what it mounted, but be sure before tarring
  [ -x "$root/usr/lib/postgresql/${PG_MAJOR}/bin/postgres" ] || die "debootstrap root has no postgres ${PG_MAJOR}"
  [ -x "$root/usr/bin/redis-server" ] || die "debootstrap root has no redis-server"
  customize_pgredis_root "$root"
  mkdir -p "$CACHE_DIR"
  log "writing $dest"
  tar --numeric-owner --xattrs -C "$root" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . | gzip -1 >"$dest.tmp" ||
    die "could not write $dest.tmp"
  mv -f "$dest.tmp" "$dest"
}

build_pgredis() {
  local start hash tarball how
  start=$(now)
  hash=$( { declare -f customize_pgredis_root; echo "$SUITE $PGREDIS_PACKAGES"; } | sha256sum | cut -c1-16)
  if ! needs_build "$PGREDIS_IMAGE" "$hash"; then
    log "$PGREDIS_IMAGE exists; skipped"
    record "$PGREDIS_IMAGE" "skipped (exists)" "$(since "$start")"
    return
  fi
  mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR"
  tarball="$CACHE_DIR/pgredis-$SUITE-$hash.tar.gz"
  if [ "$REFRESH_CACHE" = 1 ] || [ ! -s "$tarball" ]; then
    make_pgredis_tarball "$tarball"
    how="built (debootstrap + import)"
    # Older tarballs of other recipes are dead weight.
    find "$CACHE_DIR" -maxdepth 1 -name "pgredis-$SUITE-*.tar.gz" ! -name "$(basename "$tarball")" -delete
  else
    log "re-importing cached $tarball"
    how="imported from cache"
  fi
  docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'ENV PGDATA=/var/lib/postgresql/data' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'STOPSIGNAL SIGINT' \
    --change 'EXPOSE 5432 6379' \
    --change 'CMD ["pg-start"]' \
    --change "LABEL sess.test.recipe=$hash" \
    --message "sess-test $SUITE minbase + $PGREDIS_PACKAGES" \
    "$tarball" "$PGREDIS_IMAGE" >/dev/null || die "docker import of $tarball as $PGREDIS_IMAGE failed"
  if ! docker run --rm --network none "$PGREDIS_IMAGE" \
      sh -c 'postgres --version && pg_isready --version && psql --version && redis-server --version && redis-cli --version && test -x /usr/local/bin/pg-start && test -x /usr/local/bin/redis-start' >/dev/null; then
    image_failed "$PGREDIS_IMAGE"
    die "smoke test of $PGREDIS_IMAGE failed (postgres/psql/redis binaries or start scripts missing); new image removed. Try --refresh-cache"
  fi
  image_done "$PGREDIS_IMAGE"
  record "$PGREDIS_IMAGE" "$how" "$(since "$start")"
}

# ---------------------------------------------------------------------------------------------------
# One run at a time (two runs would race on the cache and on the image tags).
mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock -w 1800 9 || die "another build-test-images run holds $CACHE_DIR/.lock"

TOTAL_START=$(now)
for what in "${WANT[@]}"; do
  case "$what" in
    busybox) build_busybox ;;
    pgredis) build_pgredis ;;
  esac
done

echo
echo "build-test-images: timings"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
echo "  total $(since "$TOTAL_START")s"
