#!/bin/sh
# reload-on-change.sh DIR PIDFILE NGINX [NGINX ARGS...]
#
# Runs beside the router's nginx (the router container starts it in the background before nginx; the
# local stack's Router runs it the same way) and keeps nginx on the newest config in DIR/nginx.conf
# without restarting it: scaling the workers is a new config delivered there (install-config.sh), never
# a new router. Every POLL seconds (ROUTER_CONFIG_POLL_SECONDS, default 1) it compares the file's
# checksum with the one nginx serves; on a change it checks the file (NGINX ARGS -t -c DIR/nginx.conf),
# reloads nginx gracefully (SIGHUP to the master in PIDFILE) and waits until only worker processes
# started for the new config accept connections. It then records what nginx serves:
#   DIR/applied  "<md5 of the config served> <unix time>", rewritten every poll (a heartbeat: a router
#                watches this directory)
#   DIR/refused  "<md5> <unix time>" of a config nginx -t rejected or that nginx did not take up; nginx
#                keeps serving the previous one, and the reason goes to stderr (the router's log)
# It exits when the nginx master is gone. POSIX sh: BusyBox (the nginx:alpine image) and Debian's dash.
set -u

[ $# -ge 3 ] || { echo "usage: $0 DIR PIDFILE NGINX [NGINX ARGS...]" >&2; exit 2; }
dir=$1
pidfile=$2
shift 2
conf="$dir/nginx.conf"
poll=${ROUTER_CONFIG_POLL_SECONDS:-1}

log() { echo "reload-on-change: $*" >&2; }
checksum() { md5sum < "$conf" 2>/dev/null | cut -d' ' -f1; }
# The file replaced in one rename, so a reader never sees half of it.
record() { printf '%s %s\n' "$2" "$(date +%s)" > "$dir/.$1.new" && mv -f "$dir/.$1.new" "$dir/$1"; }
master() { pid=$(cat "$pidfile" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"; }

# The master's worker processes that accept connections: an old one calls itself
# "nginx: worker process is shutting down" once told to quit.
accepting() {
    for stat in /proc/[0-9]*/stat; do
        { read -r pid _ _ ppid _ < "$stat"; } 2>/dev/null || continue
        [ "$ppid" = "$1" ] || continue
        [ "$(tr -d '\0' < "/proc/$pid/cmdline" 2>/dev/null)" = "nginx: worker process" ] && echo "$pid"
    done
}

# SIGHUP, then until none of the workers from before accepts connections (30 s at most). The heartbeat
# goes on meanwhile: an installer waiting for this config must not take the router for gone.
reload() {
    before=$(accepting "$1")
    kill -HUP "$1" || return 1
    tries=0
    while [ "$tries" -lt 300 ]; do
        [ $((tries % 10)) = 9 ] && record applied "$served"
        now=$(accepting "$1")
        if [ -n "$now" ]; then
            old=0
            for p in $before; do
                case " $(echo $now) " in *" $p "*) old=1 ;; esac
            done
            [ "$old" = 0 ] && return 0
        fi
        sleep 0.1
        tries=$((tries + 1))
    done
    return 1
}

# nginx read the config when it started: that is what it serves.
tries=0
until pid=$(master); do
    tries=$((tries + 1))
    [ "$tries" -le 300 ] || { log "no nginx master in $pidfile"; exit 1; }
    sleep 0.1
done
served=$(checksum)
seen=$served
record applied "$served"

while sleep "$poll"; do
    pid=$(master) || exit 0
    current=$(checksum)
    if [ -n "$current" ] && [ "$current" != "$seen" ]; then
        seen=$current
        if ! out=$("$@" -t -q -c "$conf" 2>&1); then
            log "refused config $current (nginx -t): $out"
            record refused "$current"
        elif ! reload "$pid"; then
            log "nginx did not take up config $current within 30 s (see its error log)"
            record refused "$current"
        else
            served=$current
            log "serving config $current"
        fi
    fi
    record applied "$served"
done
