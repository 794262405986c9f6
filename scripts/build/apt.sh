#!/usr/bin/env bash
# ensure_debian_package COMMAND PACKAGE : installs PACKAGE with apt-get when
# COMMAND is not on PATH (as root, or through sudo), with a clear message
# where that is not possible. Source it after scripts/lib/common.sh.

ensure_debian_package() {
  local command="$1" package="$2"
  command -v "$command" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "$command is missing and apt-get is not available: install the '$package' package (or its equivalent) and put $command on PATH"
  local -a as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "$command is missing: run 'apt-get install -y $package' as root"
    as_root=(sudo)
  fi
  local started=$SECONDS apt_log="$KEYSCOPE_LOG_DIR/apt-$package.log"
  log "$package: installing Debian's $package package (apt-get; log: $apt_log)"
  { "${as_root[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq "$package"; } >"$apt_log" 2>&1 ||
    die "apt-get install $package failed (log: $apt_log)"
  command -v "$command" >/dev/null 2>&1 || die "the $package package did not provide $command"
  log "$package: installed in $(( SECONDS - started ))s"
}
