#!/bin/sh
# install-config.sh STAGED DIR NGINX [NGINX ARGS...]
#
# Delivers a router config to DIR, the directory a running router watches (reload-on-change.sh), and
# waits until the router serves it. On the docker target a short-lived container of the router's image
# runs it, with the config volume mounted at DIR; the local stack's Router runs it too. Steps:
#   1. NGINX ARGS -t -c STAGED: a config nginx rejects never reaches DIR (exit 1);
#   2. STAGED becomes DIR/nginx.conf in one rename (a router never reads half a file);
#   3. while a router watches DIR (DIR/applied rewritten within the last STALE seconds), until it reports
#      this config applied (exit 0) or refused (exit 1), TIMEOUT seconds at most (exit 1). With no router
#      watching (the first deploy, a stopped router) there is nothing to wait for: a router reads
#      DIR/nginx.conf when it starts.
# ROUTER_CONFIG_TIMEOUT_SECONDS (default 60) and ROUTER_CONFIG_STALE_SECONDS (default 10) set those two.
set -eu

[ $# -ge 3 ] || { echo "usage: $0 STAGED DIR NGINX [NGINX ARGS...]" >&2; exit 2; }
staged=$1
dir=$2
shift 2
timeout=${ROUTER_CONFIG_TIMEOUT_SECONDS:-60}
stale=${ROUTER_CONFIG_STALE_SECONDS:-10}

say() { echo "install-config: $*"; }
fail() { echo "install-config: $*" >&2; exit 1; }

out=$("$@" -t -q -c "$staged" 2>&1) || fail "nginx -t rejected the new router config, nothing changed: $out"
want=$(md5sum < "$staged" | cut -d' ' -f1)
cp "$staged" "$dir/.nginx.conf.new"
mv -f "$dir/.nginx.conf.new" "$dir/nginx.conf"
say "installed config $want in $dir"

# "<md5> <unix time>" from the router's reload-on-change.sh, or nothing.
field() { [ -f "$dir/$1" ] && cut -d' ' -f"$2" < "$dir/$1" 2>/dev/null || true; }
deadline=$(($(date +%s) + timeout))
while :; do
    [ "$(field applied 1)" = "$want" ] && { say "the router serves it"; exit 0; }
    [ "$(field refused 1)" = "$want" ] && fail "the router refused config $want and keeps the previous one (see its log)"
    beat=$(field applied 2)
    if [ -z "$beat" ] || [ $(($(date +%s) - beat)) -gt "$stale" ]; then
        say "no running router watches $dir: it reads the config when it starts"
        exit 0
    fi
    [ "$(date +%s)" -lt "$deadline" ] || fail "the router did not report config $want applied within $timeout s"
    sleep 0.2
done
