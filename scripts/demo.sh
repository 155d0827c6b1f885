#!/usr/bin/env bash
# `make demo`: JupyterLab on notebooks/, landing on 01_quickstart.ipynb itself (not on a Launcher).
#
#   NO_BROWSER=1  print ONE full URL (with its token) to open, and start no browser;
#   otherwise     jupyter opens the notebook in $BROWSER (or the system's browser) through its
#                 jpserver-*-open.html redirect file, which carries the same URL.
#
# Environment: PORT (default 8888; the server refuses to start rather than move to another port,
# so the printed URL is always right), JUPYTER (default .venv/bin/jupyter of this checkout),
# NO_BROWSER, BROWSER. The workspace (open tabs) lives in a temporary folder for this run, so a
# layout saved by an earlier JupyterLab session cannot put a Launcher in front of the notebook.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JUPYTER="${JUPYTER:-$root/.venv/bin/jupyter}"
PORT="${PORT:-8888}"
NOTEBOOK="01_quickstart.ipynb"
token="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
workspaces="$(mktemp -d "${TMPDIR:-/tmp}/nblabel-demo-workspaces.XXXXXX")"
trap 'rm -rf "$workspaces"' EXIT

args=(lab --port="$PORT" --ip=127.0.0.1 --ServerApp.port_retries=0 --allow-root
      --IdentityProvider.token="$token" --LabApp.workspaces_dir="$workspaces")
cd "$root/notebooks"
if [ -n "${NO_BROWSER:-}" ]; then
  echo "[make] open http://127.0.0.1:$PORT/lab/tree/$NOTEBOOK?token=$token"
  "$JUPYTER" "${args[@]}" --no-browser
else
  "$JUPYTER" "${args[@]}" "$NOTEBOOK"
fi
