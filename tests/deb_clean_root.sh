#!/usr/bin/env bash
# The .deb on a clean Debian 12 (issue 23): a fresh minimal root made by
# debootstrap, where apt must fetch every dependency the package names from
# Debian, as on a machine that never built Tandem. There the package
# installs with `apt-get install ./tandem_*.deb`, `tandem --version` runs
# from PATH, the units and the man page are in place, and removing and
# purging it leaves none of its files. Needs root and a Debian mirror
# (DEBIAN_MIRROR, default deb.debian.org); downloads about 100 MB, so it is
# not part of `make test`: `make check-deb`.
set -euo pipefail
deb=$(realpath "$1")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /var/tmp/tandem-clean-root-XXXXXX)
cleanup() {
  for m in proc dev/pts dev; do umount "$root/$m" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT
fail() { echo "deb_clean_root: $*" >&2; exit 1; }

debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log"; fail "debootstrap failed"; }
rm -f "$root.log"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

cp "$deb" "$root/tmp/"
name=$(basename "$deb")
in_root apt-get update -qq
in_root apt-get install -y -qq "/tmp/$name" >/dev/null || fail "apt-get install ./$name failed"
in_root tandem --version | grep -q '^tandem ' || fail "tandem --version does not run from PATH"
for f in /usr/lib/systemd/user/tandem.service /lib/systemd/user/tandem.service; do [ -e "$root$f" ] && unit=$f; done
[ -n "${unit:-}" ] || fail "the user unit is not installed"
[ -e "$root/usr/share/man/man1/tandem.1.gz" ] || [ -e "$root/usr/share/man/man1/tandem.1" ] || fail "no man page"
files=$(in_root dpkg -L tandem | grep -v '^/\.$')
echo "installed on a clean bookworm root with: $(in_root dpkg-query -W -f='${Depends}' tandem)"
in_root apt-get purge -y -qq tandem >/dev/null || fail "apt-get purge tandem failed"
left=()
while read -r f; do
  [ -z "$f" ] && continue
  # Folders other packages also own stay; files of this package must not.
  if [ -e "$root$f" ] && [ ! -d "$root$f" ]; then left+=("$f"); fi
done <<<"$files"
[ ${#left[@]} -eq 0 ] || fail "purging left: ${left[*]}"
echo "deb_clean_root: installed, ran and removed cleanly on a fresh Debian 12 root"
