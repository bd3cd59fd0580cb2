#!/usr/bin/env bash
# `make demo` / `make demo-down`, `make demo-cloudflare` / `make demo-cloudflare-down`: a dev stack against a
# local sandbox, with a local file backend.
#   up [manual|cloudflare]    start the sandbox unless it runs, `pulumi up --yes`, print the verified domain
#                             and its records
#   down [manual|cloudflare]  `pulumi destroy --yes` and stop the sandbox
# manual (the default, `make demo`): the `dev` stack, one domain in manual DNS mode; the sandbox on 8787 (DNS
#   8853) publishes the records itself (--auto-publish).
# cloudflare (`make demo-cloudflare`): the `dev-cloudflare` stack, the same domain published in Cloudflare
#   by the real Cloudflare plugin; its own sandbox on 8788 (DNS 8854), whose Cloudflare DNS API stand-in is
#   Cloudflare here and whose DNS serves what the stand-in holds (no --auto-publish). Ends with the records
#   as Cloudflare holds them, read from its API.
# Everything lives in .demo/ (git-ignored; cloudflare: .demo/cloudflare/): backend, Pulumi home, sandbox
# state, log and pid.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mode=${2:-manual}
case "$mode" in
  manual)
    demo=$root/.demo
    stack=dev
    port=${DEMO_SANDBOX_PORT:-8787}
    # Pulumi.dev.yaml points the DNS check at this port (anyreach:dnsResolvers, anyreach:dnsNameserverPort).
    dns_port=8853
    sandbox_flags=(--auto-publish)
    ;;
  cloudflare)
    demo=$root/.demo/cloudflare
    stack=dev-cloudflare
    # Pulumi.dev-cloudflare.yaml names both ports (anyreach:baseUrl, cloudflare:baseUrl, the DNS check).
    port=8788
    dns_port=8854
    sandbox_flags=()
    ;;
  *)
    echo "usage: scripts/demo.sh up|down [manual|cloudflare]" >&2
    exit 2
    ;;
esac
mkdir -p "$demo/backend" "$demo/home"

export PULUMI_BACKEND_URL="file://$demo/backend"
export PULUMI_HOME="$demo/home"
# Demo only: this passphrase encrypts the dev stacks' secrets and is public.
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-anyreach-demo}
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# The sandbox's built-in credentials; the dev stacks read the tokens from the environment, so no secret is
# written to their stack files.
export ANYREACH_TOKEN=${ANYREACH_TOKEN:-dev-token}
if [ "$mode" = cloudflare ]; then
  # The stand-in's dev token (public, documented in sandbox/README.md); the address is in the stack file.
  export CLOUDFLARE_API_TOKEN=sandbox-cloudflare-dev-token-0123456789a
  zone_id=023e105f4ecef8ad9ca31a8372d0c353
fi

sandbox_running() {
  curl -fsS -m 2 "http://127.0.0.1:$port/_sandbox/settings" >/dev/null 2>&1
}

start_sandbox() {
  if sandbox_running; then
    echo "sandbox: already serving on 127.0.0.1:$port"
    return
  fi
  echo "sandbox: starting on 127.0.0.1:$port (log: ${demo#"$root"/}/sandbox.log)"
  nohup .venv/bin/python -m sandbox --host 127.0.0.1 --port "$port" --dns-port "$dns_port" \
    ${sandbox_flags[@]+"${sandbox_flags[@]}"} --propagation-delay 2 --state "$demo/sandbox-state.json" \
    >"$demo/sandbox.log" 2>&1 &
  echo $! >"$demo/sandbox.pid"
  for _ in $(seq 50); do sandbox_running && return; sleep 0.2; done
  echo "sandbox: did not start; see ${demo#"$root"/}/sandbox.log" >&2
  exit 1
}

stop_sandbox() {
  if [ -f "$demo/sandbox.pid" ] && kill "$(cat "$demo/sandbox.pid")" 2>/dev/null; then
    echo "sandbox: stopped"
  fi
  rm -f "$demo/sandbox.pid"
}

if [ "$mode" = cloudflare ]; then
  # Into this demo's own Pulumi home, from the per-user cache `make cloudflare-plugin` fills (once: a copy).
  bash tools/cloudflare-plugin/plugin.sh ensure
fi

case "${1:-up}" in
  up)
    start_sandbox
    pulumi stack select "$stack" --create >/dev/null
    pulumi up --yes --stack "$stack"
    echo
    echo "Verified domains of the $stack stack (stack output \`domains\`):"
    pulumi stack output domains --json --stack "$stack" |
      .venv/bin/python scripts/print_domains.py --dns "127.0.0.1:$dns_port"
    if [ "$mode" = cloudflare ]; then
      echo
      echo "The records as Cloudflare holds them (GET /client/v4/zones/$zone_id/dns_records):"
      .venv/bin/python scripts/print_cloudflare_records.py --zone "$zone_id" \
        --base-url "http://127.0.0.1:$port/client/v4"
    fi
    ;;
  down)
    start_sandbox
    if pulumi stack select "$stack" >/dev/null 2>&1; then
      pulumi destroy --yes --stack "$stack"
    fi
    stop_sandbox
    ;;
  *)
    echo "usage: scripts/demo.sh up|down [manual|cloudflare]" >&2
    exit 2
    ;;
esac
