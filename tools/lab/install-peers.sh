#!/bin/sh
# install-peers.sh installs the Debian packages the tests drive as real peers
# (Kamailio, baresip, SIPp, sox, ...) and the tools `make kernel` builds with
# (bison, flex, bc, libelf, libssl, the armhf cross compiler) when they are
# missing. It is idempotent and
# quiet when everything is already there. Needs root (CI runs as root); without
# root it prints what is missing and leaves the skip to the tests.
set -eu

pkgs="kamailio kamailio-extra-modules kamailio-tls-modules kamailio-utils-modules
baresip-core sip-tester socat sox libsox-fmt-all procps iproute2 ca-certificates
libspandsp-dev espeak-ng tshark
tftpd-hpa dnsmasq-base chromium nodejs npm sipvicious prometheus nftables conntrack
qemu-system-x86 qemu-system-arm e2fsprogs xz-utils dpkg apt
bison flex bc libelf-dev libssl-dev gcc-arm-linux-gnueabihf"

missing=""
for p in $pkgs; do
	# A Node.js that did not come from Debian (e.g. NodeSource's, which
	# bundles npm) conflicts with Debian's npm package: keep it.
	case "$p" in
	nodejs | npm) command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo -n"
	else
		echo "install-peers: not root and no sudo; missing packages:$missing" >&2
		exit 0
	fi
fi
echo "install-peers: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
