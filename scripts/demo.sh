#!/usr/bin/env bash
# demo.sh — the main job in one command: builds netcache, makes a sample origin (a stand-in for
# a slow NFS/SMB share), mounts it with a persistent cache, reads it cold then warm (after a
# remount), and prints the counters each time. Installs its own dependencies. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "${JOBS:-2}" --target netcache
netcache=$PWD/build/netcache

demo=${DEMO_DIR:-/tmp/netcache-demo}
origin=$demo/origin mnt=$demo/mnt cache=$demo/cache
if mountpoint -q "$mnt" 2>/dev/null || ! stat "$mnt" >/dev/null 2>&1; then
  "$netcache" umount --lazy "$mnt" 2>/dev/null || true
fi
rm -rf "$demo"
mkdir -p "$origin/docs" "$origin/data" "$mnt"
echo "== making a sample origin in $origin"
head -c $((256 * 1024 * 1024)) /dev/urandom > "$origin/data/big.bin"
for i in $(seq 1 200); do head -c $((4096 + i * 37)) /dev/urandom > "$origin/docs/file$i"; done
echo "hello from the origin" > "$origin/README.txt"
ln -s data/big.bin "$origin/latest"
truncate -s 4G "$origin/data/sparse-4G.img"

cleanup() { "$netcache" umount "$mnt" 2>/dev/null || true; }
trap cleanup EXIT

files=(README.txt data/big.bin docs)
origin_hash=$(cd "$origin" && find "${files[@]}" -type f | sort | xargs cat | sha256sum | cut -c1-16)
read_all() {
  local t0=$EPOCHREALTIME hash t1
  hash=$(cd "$mnt" && find "${files[@]}" -type f | sort | xargs cat | sha256sum | cut -c1-16)
  t1=$EPOCHREALTIME
  python3 -c "print(f'   read 257 MiB in {$t1 - $t0:.2f} s; sha256 {\"$hash\"[:16]} (origin {\"$origin_hash\"}): ' + ('same bytes' if '$hash' == '$origin_hash' else 'MISMATCH'))"
  [ "$hash" = "$origin_hash" ]
  # A window of the 4 GiB sparse file, far from the start.
  dd if="$mnt/data/sparse-4G.img" bs=1M skip=3000 count=2 status=none | cmp - <(head -c 2097152 /dev/zero)
}

echo "== netcache mount $origin $mnt --cache-dir $cache"
"$netcache" mount "$origin" "$mnt" --cache-dir "$cache"
ls -l "$mnt" "$mnt/data"
cat "$mnt/README.txt"
echo "== cold read (from the origin, copied into the cache)"
read_all
"$netcache" stat "$mnt"
"$netcache" umount "$mnt"

echo "== remount and warm read (from the persistent cache)"
"$netcache" mount "$origin" "$mnt" --cache-dir "$cache"
read_all
"$netcache" stat "$mnt"
echo "== cache directory: $(du -sh "$cache" | cut -f1) in $(find "$cache" -name '*.data' | wc -l) data files"
"$netcache" umount "$mnt"
trap - EXIT
echo "== done"
