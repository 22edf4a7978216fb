#!/usr/bin/env bash
# The install and the .deb (issue 23), from a build folder:
#   1. `cmake --install` into a staging prefix puts the binary, the library,
#      the header, the man page and the completions in their places;
#   2. cpack makes a .deb whose dependencies are Debian's libraries;
#   3. in a throw-away root (an overlay of this machine's root in a mount
#      namespace of this test's own: nothing reaches the real one) the .deb
#      installs, `tandem --version` runs from PATH, its man page and
#      completion are found, and removing it leaves none of its files.
# Runs as root (the namespace and the overlay need it).
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/tandem-package-XXXXXX)
had_tandem=no; [ -e /usr/bin/tandem ] && had_tandem=yes
trap 'rm -rf "$work"' EXIT
fail() { echo "package_test: $*" >&2; exit 1; }

# 1. The install.
cmake --install "$build" --prefix "$work/stage" >/dev/null
for f in bin/tandem include/tandem/tandem.h share/man/man1/tandem.1 lib/systemd/user/tandem.service lib/systemd/system/tandem@.service \
         share/bash-completion/completions/tandem share/zsh/vendor-completions/_tandem share/doc/tandem/gui.md; do
  [ -e "$work/stage/$f" ] || fail "cmake --install did not put $f"
done
ls "$work"/stage/lib*/libtandem.so.1 >/dev/null 2>&1 || fail "cmake --install did not put libtandem.so.1"
"$work/stage/bin/tandem" --version | grep -q '^tandem ' || fail "the installed binary does not run"
man -l "$work/stage/share/man/man1/tandem.1" 2>/dev/null | grep -q 'tandem gui' || fail "the man page lacks tandem gui"
# The bash completion completes commands, their subcommands and options.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tandem; echo " ${COMPREPLY[*]} "' \
    bash "$work/stage/share/bash-completion/completions/tandem" "$@"
}
[[ $(complete_words tandem pe) == *" peer "* ]] || fail "bash completion: tandem pe -> $(complete_words tandem pe)"
[[ $(complete_words tandem peer a) == " add " ]] || fail "bash completion: tandem peer a -> $(complete_words tandem peer a)"
[[ $(complete_words tandem daemon --g) == " --gui " ]] || fail "bash completion: tandem daemon --g"

grep -q "^ExecStart=$work/stage/bin/tandem daemon\$" "$work/stage/lib/systemd/user/tandem.service" ||
  fail "the user unit does not start the installed binary"

# 2. The package.
(cd "$build" && cpack -G DEB -B "$work/pkg" >/dev/null) || fail "cpack failed"
deb=$(ls "$work"/pkg/tandem_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libsodium libsqlite3 libcpp-httplib libprotobuf; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib: $depends"
done

# 3. Install, use and remove it in a throw-away root.
mkdir "$work/root"
unshare --mount --fork bash -euo pipefail -c '
  work=$1; deb=$2
  mount --make-rprivate /
  mount -t tmpfs tmpfs "$work/root"
  mkdir -p "$work/root/upper" "$work/root/work" "$work/root/merged"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$work/root/upper,workdir=$work/root/work" "$work/root/merged"
  new=$work/root/merged
  for d in proc dev sys; do mount --rbind "/$d" "$new/$d"; done
  cp "$deb" "$new/tandem.deb"
  in_root() { chroot "$new" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
  in_root dpkg -r tandem >/dev/null 2>&1 || true
  in_root dpkg -i /tandem.deb >/dev/null
  in_root tandem --version | grep -q "^tandem " || { echo "tandem does not run from PATH"; exit 1; }
  in_root man -w tandem >/dev/null || { echo "man tandem is not found"; exit 1; }
  [ -f "$new/usr/share/bash-completion/completions/tandem" ] || { echo "no bash completion"; exit 1; }
  # The units, as installed, pass systemd'"'"'s own check (the template as an instance).
  in_root systemd-analyze verify /usr/lib/systemd/user/tandem.service || { echo "the user unit fails verify"; exit 1; }
  cp "$new/usr/lib/systemd/system/tandem@.service" "$new/tmp/tandem@root.service"
  in_root systemd-analyze verify /tmp/tandem@root.service || { echo "the system unit fails verify"; exit 1; }
  grep -q "^ExecStart=/usr/bin/tandem daemon$" "$new/usr/lib/systemd/system/tandem@.service" ||
    { echo "the system unit does not start /usr/bin/tandem"; exit 1; }
  in_root dpkg -L tandem | grep -v "^/\.$" > "$work/files"
  in_root dpkg -r tandem >/dev/null
  while read -r f; do
    if [ -f "$new$f" ] || [ -L "$new$f" ]; then echo "left behind after removal: $f"; exit 1; fi
  done < "$work/files"
  in_root sh -c "command -v tandem" && { echo "tandem still on PATH"; exit 1; } || true
' bash "$work" "$deb" || fail "the .deb did not install, run and remove cleanly in a throw-away root"
if [ "$had_tandem" = no ] && [ -e /usr/bin/tandem ]; then fail "the real root was touched"; fi
echo "package_test: ok ($(basename "$deb"), Depends: $depends)"
