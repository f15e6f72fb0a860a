#!/usr/bin/env bash
# Writes the four build benchmark contexts (small, many-files, multistage, debian) with deterministic content:
# the same seeds and sizes as the peer-tool baseline, so tsbuild's and buildah's figures compare.
#
#   bench/build/gen-contexts.sh OUTDIR REGISTRY [context ...]     (default: all four)
#
# OUTDIR/<ctx>/ gets the files, a Dockerfile (from contexts/<ctx>/Dockerfile.in with @REGISTRY@ replaced) and a
# file CHANGE naming the context file the "one-file change" scenario rewrites. A context whose marker
# OUTDIR/<ctx>/.generated exists is kept (its Dockerfile is rewritten for the registry); FORCE=1 regenerates.
# Knobs (defaults as in the baseline): MULTISTAGE_WORK=8 (64 MiB sha256 rounds per builder stage),
# MANYFILES_COUNT=20000, MANYFILES_MB=150.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: gen-contexts.sh OUTDIR REGISTRY [context ...]}
registry=${2:?usage: gen-contexts.sh OUTDIR REGISTRY [context ...]}
shift 2
work=${MULTISTAGE_WORK:-8}
count=${MANYFILES_COUNT:-20000}
megabytes=${MANYFILES_MB:-150}

make_small() {
  local d=$1
  mkdir -p "$d/src/nested/deep" "$d/src/empty-dir" "$d/scripts" "$d/secret" "$d/vendor-src/lib"
  echo alpha >"$d/src/a.txt"
  for _ in $(seq 100); do echo bravo; done >"$d/src/b.txt"
  echo 'spaces in name' >"$d/src/with space.txt"
  echo 'unicode name' >"$d/src/ünïcode.txt"
  echo deep >"$d/src/nested/deep/c.txt"
  ln -sfn a.txt "$d/src/link-to-a"
  echo 'must be excluded by .dockerignore' >"$d/src/debug.log"
  echo token >"$d/secret/token"
  printf '%s\n' '**/*.log' 'secret/' 'vendor-src/' >"$d/.dockerignore"
  printf '#!/bin/sh\necho "run.sh $*: $GREETING"\n' >"$d/scripts/run.sh"
  chmod 0644 "$d/scripts/run.sh"
  echo '{"name":"bench-small","debug":false}' >"$d/config.json"
  chmod 0600 "$d/config.json"
  echo 'lib file' >"$d/vendor-src/lib/v.txt"
  echo top >"$d/vendor-src/top.txt"
  # a local tar for ADD's auto-extraction, owned 1000:1000 inside
  tar -C "$d/vendor-src" --owner=1000 --group=1000 --numeric-owner --mtime='2024-01-01 00:00Z' --sort=name -cf "$d/vendor.tar" .
  echo src/a.txt >"$d/CHANGE"
}

make_many_files() {
  local d=$1
  mkdir -p "$d/src"
  echo '{"name":"many-files","version":"1.0.0","dependencies":{}}' >"$d/package.json"
  echo 'console.log("hello");' >"$d/src/index.js"
  echo 'module.exports = 1;' >"$d/src/util.js"
  # A node_modules-like tree of text files cut from a seeded word soup (compresses like JavaScript). The random
  # calls and their order fix the content: keep them as they are.
  python3 - "$d/node_modules" "$count" "$megabytes" <<'PY'
import os, random, sys

root, count, megabytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20240101)
letters = 'abcdefghijklmnopqrstuvwxyz_$'
vocabulary = [''.join(rng.choice(letters) for _ in range(rng.randint(2, 12))) for _ in range(4000)]
vocabulary += ['function', 'return', 'const', 'var', 'let', 'this', 'module.exports', 'require(', ');', '{', '}', '=>', '\n', '\n  ']
raw = [min(int(rng.lognormvariate(8.0, 1.3)), 2 << 20) + 1 for _ in range(count)]
factor = megabytes * 1024 * 1024 / sum(raw)
sizes = [max(1, int(size * factor)) for size in raw]
packages = max(1, count // 100)
extensions = ['.js'] * 6 + ['.d.ts', '.json', '.md', '.map']
soup = ' '.join(rng.choices(vocabulary, k=400000)).encode()
doubled = soup + soup
for number, size in enumerate(sizes):
    package, k = number % packages, number // packages
    top = os.path.join(root, 'pkg-%04d' % package)
    if k < 3:
        relative = ('index.js', 'package.json', 'README.md')[k]
    else:
        folder = ('lib', 'dist', 'lib/internal', 'dist/esm', 'node_modules/dep-%d' % (k % 3))[k % 5]
        relative = '%s/file-%04d%s' % (folder, k, extensions[k % len(extensions)])
    path = os.path.join(top, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    start = rng.randrange(0, len(soup))
    with open(path, 'wb') as f:
        f.write(doubled[start:start + min(size, len(soup))])
    if k == 4:
        os.chmod(path, 0o755)
    if k == 3 and package % 10 == 0:
        os.symlink('index.js', os.path.join(top, 'main-link.js'))
PY
  echo src/index.js >"$d/CHANGE"
}

make_multistage() {
  local d=$1
  mkdir -p "$d"
  cat >"$d/gen.sh" <<'EOF'
#!/bin/sh
# CPU-bound, deterministic: chain of sha256 over 64 MiB streams; writes out/.
set -e
name=$1; n=$2; i=0; h=seed
mkdir -p out
while [ $i -lt "$n" ]; do
  h=$(yes "$name-$i-$h" | head -c 67108864 | sha256sum | cut -c1-64)
  echo "$h" > "out/sum-$i.txt"
  yes "$name $i $h" | head -c 262144 > "out/blob-$i.dat"
  i=$((i+1))
done
echo "$name $h" > out/final.txt
EOF
  echo 'app v1' >"$d/app.txt"
  echo app.txt >"$d/CHANGE"
}

make_debian() {
  local d=$1
  mkdir -p "$d/app"
  printf '#!/bin/bash\necho "app running as $(id -un)"\n' >"$d/app/run.sh"
  chmod 0755 "$d/app/run.sh"
  printf '[app]\nport=8080\n' >"$d/app/config.ini"
  python3 -c 'import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(65536)))' >"$d/app/data.bin"
  echo app/config.ini >"$d/CHANGE"
}

contexts=("$@")
[ ${#contexts[@]} -gt 0 ] || contexts=(small many-files multistage debian)
mkdir -p "$out"
for name in "${contexts[@]}"; do
  template="$here/contexts/$name/Dockerfile.in"
  [ -f "$template" ] || { echo "gen-contexts: unknown context $name" >&2; exit 2; }
  dir="$out/$name"
  if [ -n "${FORCE:-}" ] || [ ! -f "$dir/.generated" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    "make_${name//-/_}" "$dir"
    touch "$dir/.generated"
  fi
  sed -e "s#@REGISTRY@#$registry#g" -e "s#@WORK@#$work#g" "$template" >"$dir/Dockerfile"
done
