#!/usr/bin/env bash
# Build a local Debian base image for the dashboard container where no registry can be
# pulled from (CI, air-gapped hosts): debootstrap a minimal bookworm with Python, give it
# this machine's CA bundle (so pip inside the build reaches PyPI) and `docker import` it.
# Usage: deploy/container/local-base.sh [TAG]   (default bouncedesk-base:bookworm)
# The root file system is cached as a tarball (BOUNCEDESK_BASE_CACHE, default
# ~/.cache/bouncedesk): a second run only imports it, or does nothing if TAG exists.
set -euo pipefail
tag="${1:-bouncedesk-base:bookworm}"
cache="${BOUNCEDESK_BASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bouncedesk}"
tarball="$cache/debian-bookworm-minbase-python3.tar"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag exists"
  exit 0
fi
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  root="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  echo "debootstrap bookworm into $root (a few minutes, once)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" >"$cache/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache/debootstrap.log" >&2
    exit 1
  }
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi
docker import "$tarball" "$tag" >/dev/null
echo "imported $tarball as $tag"
