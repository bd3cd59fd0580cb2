#!/usr/bin/env bash
# `make demo` / `make demo-down`: the dev stack against the local sandbox, with a local file backend.
#   up    start the sandbox (auto-publish, short propagation delay, DNS on 127.0.0.1:8853) unless it runs,
#         `pulumi up --yes`,
#         print the verified domain and its records
#   down  `pulumi destroy --yes` and stop the sandbox
# Everything lives in .demo/ (git-ignored): backend, Pulumi home, sandbox state, log and pid.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=$root/.demo
port=${DEMO_SANDBOX_PORT:-8787}
# Pulumi.dev.yaml points the DNS check at this port (anyreach:dnsResolvers, anyreach:dnsNameserverPort).
dns_port=8853
mkdir -p "$demo/backend" "$demo/home"

export PULUMI_BACKEND_URL="file://$demo/backend"
export PULUMI_HOME="$demo/home"
# Demo only: this passphrase encrypts the dev stack's secrets (the sandbox token below) and is public.
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-anyreach-demo}
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# The sandbox's built-in credential; the dev stack reads the token from the environment, so no secret is
# written to Pulumi.dev.yaml.
export ANYREACH_TOKEN=${ANYREACH_TOKEN:-dev-token}

sandbox_running() {
  curl -fsS -m 2 "http://127.0.0.1:$port/_sandbox/settings" >/dev/null 2>&1
}

start_sandbox() {
  if sandbox_running; then
    echo "sandbox: already serving on 127.0.0.1:$port"
    return
  fi
  echo "sandbox: starting on 127.0.0.1:$port (log: .demo/sandbox.log)"
  nohup .venv/bin/python -m sandbox --host 127.0.0.1 --port "$port" --dns-port "$dns_port" --auto-publish \
    --propagation-delay 2 --state "$demo/sandbox-state.json" >"$demo/sandbox.log" 2>&1 &
  echo $! >"$demo/sandbox.pid"
  for _ in $(seq 50); do sandbox_running && return; sleep 0.2; done
  echo "sandbox: did not start; see .demo/sandbox.log" >&2
  exit 1
}

stop_sandbox() {
  if [ -f "$demo/sandbox.pid" ] && kill "$(cat "$demo/sandbox.pid")" 2>/dev/null; then
    echo "sandbox: stopped"
  fi
  rm -f "$demo/sandbox.pid"
}

case "${1:-up}" in
  up)
    start_sandbox
    pulumi stack select dev --create >/dev/null
    pulumi up --yes --stack dev
    echo
    echo "Verified domains of the dev stack (stack output \`domains\`):"
    pulumi stack output domains --json --stack dev | .venv/bin/python scripts/print_domains.py --dns "127.0.0.1:$dns_port"
    ;;
  down)
    start_sandbox
    if pulumi stack select dev >/dev/null 2>&1; then
      pulumi destroy --yes --stack dev
    fi
    stop_sandbox
    ;;
  *)
    echo "usage: scripts/demo.sh up|down" >&2
    exit 2
    ;;
esac
