#!/usr/bin/env bash
# Checks that a list of Debian packages provides every shared library a binary
# links directly (its DT_NEEDED entries), so the runtime image installs nothing
# more and nothing less than the binary needs. Run where the binary was built
# (it needs readelf, ldd and the dpkg database of that system):
#   deploy/check-runtime-deps.sh build/release/src/cli/reco libc6 libstdc++6 ...
# Prints "soname  path  package" per library; exits 1 naming each package the
# list lacks (or each library that does not resolve), 2 on usage errors.
# The Dockerfile's builder stage runs it against RUNTIME_PACKAGES.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 BINARY [PACKAGE...]" >&2
  exit 2
fi
binary=$1
shift
declare -A allowed=()
for p in "$@"; do allowed[$p]=1; done

# The package owning a library file. dpkg records some libraries under /lib and
# others under /usr/lib (merged /usr), and ldd may report either spelling or a
# symlink (e.g. OpenBLAS via update-alternatives), so try each variant.
owner_of() {
  local path=$1 candidate real
  real=$(readlink -f "$path")
  for candidate in "$real" "$path" "${real#/usr}" "/usr${real}" "${path#/usr}" "/usr${path}"; do
    if out=$(dpkg -S "$candidate" 2>/dev/null); then
      # "libfoo1:amd64: /usr/lib/..." (diversions print extra lines; take the owner)
      out=$(printf '%s\n' "$out" | grep -v '^diversion' | head -n1)
      printf '%s\n' "${out%%: *}" | sed 's/:[a-z0-9_]*$//'
      return 0
    fi
  done
  return 1
}

ldd_out=$(ldd "$binary")
status=0
declare -A missing=()
while read -r soname; do
  path=$(printf '%s\n' "$ldd_out" | awk -v s="$soname" '$1 == s && $2 == "=>" { print $3 }')
  if [ -z "$path" ] || [ "$path" = "not" ]; then
    echo "$soname: not found by the dynamic loader" >&2
    status=1
    continue
  fi
  if ! pkg=$(owner_of "$path"); then
    echo "$soname: $path belongs to no Debian package (built locally?)" >&2
    status=1
    continue
  fi
  printf '%-22s %-62s %s\n' "$soname" "$path" "$pkg"
  if [ $# -gt 0 ] && [ -z "${allowed[$pkg]:-}" ]; then
    missing[$pkg]=1
  fi
done < <(readelf -d "$binary" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p')

if [ ${#missing[@]} -gt 0 ]; then
  echo "the package list lacks: ${!missing[*]}" >&2
  status=1
fi
exit $status
