#!/bin/sh
# examples/c/share_folder shares a folder with a file in it, and within its
# two seconds prints the share, the device and the file's local change event.
set -eu
example=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/folder"
echo hello > "$dir/folder/hello.txt"
"$example" "$dir/config" "$dir/folder" 2 > "$dir/out"
grep -q '^shared: {' "$dir/out" || { cat "$dir/out"; echo "no share printed"; exit 1; }
grep -q '^device: {' "$dir/out" || { cat "$dir/out"; echo "no device printed"; exit 1; }
grep -q '"type":"local_change_detected"' "$dir/out" || { cat "$dir/out"; echo "no event for hello.txt"; exit 1; }
grep -q '"path":"hello.txt"' "$dir/out" || { cat "$dir/out"; echo "no event for hello.txt"; exit 1; }
# A relative folder is refused with the reason, and nothing is made.
if "$example" "$dir/config2" relative/folder 1 2> "$dir/err"; then echo "a relative folder was accepted"; exit 1; fi
grep -q 'absolute' "$dir/err" || { cat "$dir/err"; exit 1; }
[ ! -e relative ] || { echo "relative/ was created"; exit 1; }
echo "example: ok"
