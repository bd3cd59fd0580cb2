#!/usr/bin/env bash
# Makes the Cloudflare resource plugin (pulumi-resource-cloudflare) of the version the Python SDK is pinned to
# available to the Pulumi CLI, cheapest first:
#   1. a plugin of that version already installed;
#   2. a binary this script built earlier, kept in the per-user cache (below);
#   3. `pulumi plugin install resource cloudflare VERSION` (a machine that reaches get.pulumi.com);
#   4. a build from CLOUDFLARE_PLUGIN_SOURCE (default ../shared/cloudflare-plugin), cached per version.
#
# usage: plugin.sh ensure    steps 1-4 (needs `pulumi` on PATH); waits for a build `start` began
#        plugin.sh build     step 4 only, without the CLI: the binary into the cache
#        plugin.sh start     step 4 in the background, detached (its own process group, pid in build.pid),
#                            unless the binary is cached or a build runs: `make test` and .ci/run call it first,
#                            so that the compile overlaps the rest of the set-up and the tests
#        plugin.sh stop      end a build `start` began (CI's exit trap: no process is left behind)
#        plugin.sh path      print where the cached binary is (or would be)
#
# The cache lives outside the clone so that every clone of this machine (CI's fresh one included) finds it:
#   ${ANYREACH_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/anyreach}/cloudflare-plugin/VERSION/
#     src/       the extracted sources (a fixed path, so the Go build cache is reused by a rebuild)
#     bin/       pulumi-resource-cloudflare
#     build.log  the last build's output
# The version is read from requirements.txt (`pulumi-cloudflare==X.Y.Z`): changing the pin rebuilds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

version=$(sed -n 's/^pulumi-cloudflare==\([0-9][0-9.]*\).*/\1/p' "$repo/requirements.txt")
[[ -n "$version" ]] || { echo "plugin.sh: requirements.txt must pin pulumi-cloudflare==X.Y.Z" >&2; exit 2; }

cache_root=${ANYREACH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/anyreach}
cache="$cache_root/cloudflare-plugin/$version"
binary="$cache/bin/pulumi-resource-cloudflare"
source_dir=${CLOUDFLARE_PLUGIN_SOURCE:-$repo/../shared/cloudflare-plugin}

log() { echo "cloudflare-plugin: $*" >&2; }

installed() {
    command -v pulumi >/dev/null || return 1
    pulumi plugin ls 2>/dev/null | awk -v v="$version" '$1 == "cloudflare" && $2 == "resource" && $3 == v { found = 1 } END { exit !found }'
}

build() {
    mkdir -p "$cache"
    # One build at a time per machine: a second caller (make test while .ci/run's background build runs)
    # waits here for the first and then finds the binary.
    exec 9>"$cache/.lock"
    if ! flock -n 9; then
        log "another build of $version is running (log: $cache/build.log); waiting for it"
        flock 9
    fi
    if [[ -x "$binary" ]]; then
        return 0
    fi
    [[ -f "$source_dir/pulumi-cloudflare-src.tar.xz" ]] || {
        log "no sources to build $version from: $source_dir/pulumi-cloudflare-src.tar.xz is missing."
        log "Set CLOUDFLARE_PLUGIN_SOURCE to the folder holding pulumi-cloudflare-src.tar.xz and goproxy/,"
        log "or install the plugin on a connected machine: pulumi plugin install resource cloudflare $version"
        exit 1
    }
    local source_version
    source_version=$(tr -d '[:space:]' <"$source_dir/VERSION")
    [[ "$source_version" == "$version" ]] || {
        log "$source_dir builds $source_version, but requirements.txt pins pulumi-cloudflare==$version."
        log "Pin the SDK to $source_version, or point CLOUDFLARE_PLUGIN_SOURCE at sources of $version."
        exit 1
    }
    command -v go >/dev/null || { log "Go is required to build the plugin"; exit 1; }

    if [[ ! -f "$cache/src/.extracted" ]]; then
        rm -rf "$cache/src"
        mkdir -p "$cache/src"
        tar -xJf "$source_dir/pulumi-cloudflare-src.tar.xz" -C "$cache/src"
        touch "$cache/src/.extracted"
    fi
    local goproxy
    goproxy="file://$(cd "$source_dir/goproxy" && pwd),$(go env GOPROXY)"
    log "building pulumi-resource-cloudflare $version into $cache/bin (log: $cache/build.log)."
    log "With empty Go caches this is one compile of ~1,950 packages (see README: The Cloudflare plugin);"
    log "a rebuild with a warm Go build cache is a link of about 2 minutes."
    local start=$SECONDS
    mkdir -p "$cache/bin"
    (
        cd "$cache/src/pulumi-cloudflare/provider"
        GOPROXY="$goproxy" CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false \
            go build -o "$binary.tmp" \
            -ldflags "-s -w -X github.com/pulumi/pulumi-cloudflare/provider/v6/pkg/version.Version=$version" \
            ./cmd/pulumi-resource-cloudflare
    ) >"$cache/build.log" 2>&1 || {
        tail -n 30 "$cache/build.log" >&2
        log "the build failed; the whole log is $cache/build.log"
        exit 1
    }
    mv "$binary.tmp" "$binary"
    log "built in $((SECONDS - start)) s: $binary"
}

ensure() {
    command -v pulumi >/dev/null || { log "no pulumi CLI on PATH (make pulumi builds one)"; exit 1; }
    if installed; then
        log "resource plugin cloudflare $version is installed"
        return 0
    fi
    if [[ ! -x "$binary" ]]; then
        # A connected machine downloads the released plugin; offline, this fails within seconds.
        if PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION= timeout 120 \
            pulumi plugin install resource cloudflare "$version" >/dev/null 2>&1 && installed; then
            log "downloaded resource plugin cloudflare $version"
            return 0
        fi
        build
    fi
    pulumi plugin install resource cloudflare "$version" --file "$binary" >/dev/null
    installed || { log "pulumi plugin install --file did not install cloudflare $version"; exit 1; }
    log "installed resource plugin cloudflare $version from $binary"
}

start() {
    [[ -x "$binary" ]] && return 0
    installed && return 0
    mkdir -p "$cache"
    if [[ -f "$cache/build.pid" ]] && kill -0 "$(cat "$cache/build.pid")" 2>/dev/null; then
        log "a build is already running (pid $(cat "$cache/build.pid"), log: $cache/build.log)"
        return 0
    fi
    # setsid: the build and its compilers form their own process group, which `stop` can end as a whole.
    setsid bash "$here/plugin.sh" build >>"$cache/start.log" 2>&1 </dev/null &
    echo $! >"$cache/build.pid"
    log "building $version in the background (pid $!, log: $cache/build.log); \`plugin.sh ensure\` waits for it"
}

stop() {
    [[ -f "$cache/build.pid" ]] || return 0
    kill -- "-$(cat "$cache/build.pid")" 2>/dev/null || true
    rm -f "$cache/build.pid"
}

case "${1:-ensure}" in
    ensure) ensure ;;
    build) build ;;
    start) start ;;
    stop) stop ;;
    path) echo "$binary" ;;
    *) echo "usage: $0 [ensure|build|start|stop|path]" >&2; exit 2 ;;
esac
