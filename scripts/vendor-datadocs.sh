#!/usr/bin/env bash
# Refresh or verify vendor/datadocs/: the CSS, JS and webfonts that
# great-expectations' Data Docs pages load from public CDNs, kept in the
# repository so that the pages render in closed networks.
#
# For maintainers; setup does not run it. It downloads the npm tarballs named
# below from the npm registry, checks each against the sha512 integrity pinned
# here, takes from them the files listed in vendor/datadocs/manifest.tsv and
# checks every file's sha256 against the manifest.
#
# Usage: scripts/vendor-datadocs.sh [--check | --rehash]
#   (none)    download, verify, and write the files into vendor/datadocs/
#   --check   download and verify only; also compare the committed files,
#             write nothing (exit 1 on any difference)
#   --rehash  after a deliberate version bump (PACKAGES below and the paths in
#             manifest.tsv edited by hand): write the files and rewrite the
#             manifest's sha256 column from them. Review the diff.
# Environment: NPM_REGISTRY (default https://registry.npmjs.org).
# Needs: bash, curl, tar, gzip, sha256sum, sha512sum, base64, od, awk.
set -euo pipefail

REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"
REGISTRY="${REGISTRY%/}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/vendor/datadocs"
MANIFEST="$DEST/manifest.tsv"

# npm package, version, dist.integrity from the registry (the lock).
PACKAGES=(
  "@forevolve/bootstrap-dark 1.1.0 sha512-A3ucpEpxPoTVO490lZZCfjPXxv832l7mm1IxX3bXyxvgwnPGXDLyh7dWrphXKO8YBAu3EswbBEu3VSW8NRMW3A=="
  "bootstrap-datepicker 1.9.0 sha512-9rYYbaVOheGYxjOr/+bJCmRPihfy+LkLSg4fIFMT9Od8WwWB/MB50w0JO1eBgKUMbb7PFHQD5uAfI3ArAxZRXA=="
  "@fortawesome/fontawesome-free 6.6.0 sha512-60G28ke/sXdtS9KZCpZSHHkCbdsOGEhIUGlwq6yhY74UpTiToIh8np7A8yphhM4BWsvNFtIvLpi4co+h9Mr9Ow=="
  "bootstrap 4.3.1 sha512-rXqOmH1VilAt2DyPzluTi2blhk17bO7ef+zLLPlWvG494pDxcM234pJ8wTc/6R40UWizAIIMgxjvxZg5kmsbag=="
  "bootstrap-table 1.19.1 sha512-WvV+l1AI/C+zThaKmfHmi/IuayVNB0qdFyEhFx1jyZhO0oLtNJNANkCR3rvJf6Dkh72dsLElxpE/bzK9seEQLA=="
  "vega 5.33.1 sha512-1fArfVDUqVbb5z8n+/nVQb+VNBzx8svY6CrsyTK4Ujm4yrd9I1auoKxBAPXLCavY1LcrbHUskQbGUP8gXOzyQw=="
  "vega-lite 5.23.0 sha512-l4J6+AWE3DIjvovEoHl2LdtCUkfm4zs8Xxx7INwZEAv+XVb6kR6vIN1gt3t2gN2gs/y4DYTs/RPoTeYAuEg6mA=="
  "vega-embed 6.29.0 sha512-PmlshTLtLFLgWtF/b23T1OwX53AugJ9RZ3qPE2c01VFAbgt3/GSNI/etzA/GzdrkceXFma+FDHNXUppKuM0U6Q=="
  "popper.js 1.12.9 sha512-s0EEi9xiSCdqz9lV4IiVH5yIZnDX/U1t0tCjB+0jXx9jW8lrR7kOpVupiUg175ogqVoudpDXHF1p6dKATCHMeg=="
  "jquery 3.7.1 sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg=="
)

mode="write"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  --rehash) mode="rehash" ;;
  -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
  *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
esac

die() { echo "vendor-datadocs: $*" >&2; exit 1; }
[ -f "$MANIFEST" ] || die "no manifest at $MANIFEST"
for tool in curl tar sha256sum sha512sum base64 od awk; do
  command -v "$tool" >/dev/null || die "needs $tool"
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/stage"
mkdir -p "$STAGE"

# sha512-<base64> -> lowercase hex
integrity_hex() { printf '%s' "${1#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n'; }

# 1. Download each tarball, verify its integrity, unpack it.
declare -A UNPACKED=()
for entry in "${PACKAGES[@]}"; do
  read -r name version integrity <<<"$entry"
  case "$integrity" in sha512-*) ;; *) die "$name@$version: integrity must be sha512-..." ;; esac
  base="${name##*/}"
  url="$REGISTRY/$name/-/$base-$version.tgz"
  tgz="$WORK/$base-$version.tgz"
  echo "fetch  $name@$version"
  curl -fsSL --retry 3 --retry-delay 2 -o "$tgz" "$url" || die "download failed: $url"
  got="$(sha512sum "$tgz" | cut -d' ' -f1)"
  want="$(integrity_hex "$integrity")"
  [ "$got" = "$want" ] || die "$name@$version: tarball sha512 mismatch (got $got, pinned $want)"
  dir="$WORK/pkg/$name/$version"
  mkdir -p "$dir"
  tar -xzf "$tgz" -C "$dir" --strip-components=1 --no-same-owner --no-same-permissions
  UNPACKED["$name@$version"]="$dir"
done

# Licence files that the vega 5 and popper.js 1 tarballs do not ship (used
# only when the tarball lacks the file).
vega_license() {  # upstream vega repository LICENSE, verbatim (vega@6 tarballs ship it)
  cat <<'LICENSE_EOF'
Copyright (c) 2015-2023, University of Washington Interactive Data Lab
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its contributors
  may be used to endorse or promote products derived from this software
  without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
LICENSE_EOF
}
popper_license() {  # the MIT licence header of dist/umd/popper.js, comment marks removed
  awk '/^ \* Copyright/{on=1} on && /^ \*\//{exit} on{sub(/^ \* ?/, ""); print}' "$1/dist/umd/popper.js"
}

# Split a manifest line on tabs, keeping empty fields (tab is IFS white space,
# so read would merge an empty url column into the next one).
split_line() { IFS=$'\x1f' read -r "$@" <<<"${line//$'\t'/$'\x1f'}"; }

# 2. Stage every file the manifest lists, from its package.
declare -A USED=() SEEN=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
  lineno=$((lineno + 1))
  case "$line" in ''|'#'*) continue ;; esac
  split_line url path pkg sha
  [ -n "${path:-}" ] && [ -n "${pkg:-}" ] || die "manifest line $lineno: needs url, path, package, sha256"
  [ -n "${SEEN[$path]:-}" ] && continue
  SEEN["$path"]=1
  name="${pkg%@*}"; version="${pkg##*@}"
  dir="${UNPACKED[$pkg]:-}"
  [ -n "$dir" ] || die "manifest line $lineno: $pkg is not in PACKAGES"
  USED["$pkg"]=1
  prefix="$name/$version/"
  [ "${path#"$prefix"}" != "$path" ] || die "manifest line $lineno: $path is not under $prefix"
  case "$path" in *..*|/*) die "manifest line $lineno: bad path $path" ;; esac
  rel="${path#"$prefix"}"
  out="$STAGE/$path"
  mkdir -p "$(dirname "$out")"
  if [ -f "$dir/$rel" ]; then
    cp "$dir/$rel" "$out"
  elif [ "$name" = "vega" ] && [ "$rel" = "LICENSE" ]; then
    vega_license >"$out"
  elif [ "$name" = "popper.js" ] && [ "$rel" = "LICENSE" ]; then
    popper_license "$dir" >"$out"
  else
    die "manifest line $lineno: $rel is not in $pkg"
  fi
  chmod 644 "$out"
done <"$MANIFEST"
for entry in "${PACKAGES[@]}"; do
  read -r name version _ <<<"$entry"
  [ -n "${USED[$name@$version]:-}" ] || die "$name@$version is in PACKAGES but no manifest line uses it"
done

# Every relative url(...) in a staged CSS file must resolve to a staged file.
while IFS= read -r css; do
  while IFS= read -r ref; do
    case "$ref" in data:*|'#'*) continue ;; http:*|https:*|//*) die "${css#"$STAGE/"} loads $ref from outside" ;; esac
    target="$(dirname "$css")/${ref%%[?#]*}"
    # A font format listed after woff2 in @font-face src (ttf, woff, ...) is
    # a fallback browsers without woff2 support would use: not vendored.
    case "$target" in
      *.ttf|*.otf|*.woff|*.eot|*.svg) [ -f "${target%.*}.woff2" ] && continue ;;
    esac
    [ -f "$target" ] || die "${css#"$STAGE/"} references $ref, which is not vendored"
  done < <(grep -o 'url([^)]*)' "$css" | sed -e 's/^url(//' -e 's/)$//' -e 's/^["'\'']//' -e 's/["'\'']$//' | sort -u || true)
done < <(find "$STAGE" -name '*.css')

# 3. Compare staged files with the manifest's sha256 column.
if [ "$mode" = "rehash" ]; then
  tmp="$WORK/manifest.tsv"
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in ''|'#'*) printf '%s\n' "$line"; continue ;; esac
    split_line url path pkg _
    printf '%s\t%s\t%s\t%s\n' "$url" "$path" "$pkg" "$(sha256sum "$STAGE/$path" | cut -d' ' -f1)"
  done <"$MANIFEST" >"$tmp"
  cp "$tmp" "$MANIFEST"
  echo "rehash manifest.tsv rewritten"
fi
bad=0
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  split_line url path pkg sha
  got="$(sha256sum "$STAGE/$path" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    echo "MISMATCH $path: tarball gives $got, manifest says $sha" >&2
    bad=1
  fi
done <"$MANIFEST"
[ "$bad" = 0 ] || die "sha256 check failed: the files from the registry differ from the manifest"
echo "ok     ${#SEEN[@]} files from ${#PACKAGES[@]} tarballs match manifest.tsv"

# 4. Write (or, with --check, compare) the files in vendor/datadocs/.
if [ "$mode" = "check" ]; then
  for path in "${!SEEN[@]}"; do
    if ! cmp -s "$STAGE/$path" "$DEST/$path"; then
      echo "DIFFERS vendor/datadocs/$path" >&2
      bad=1
    fi
  done
else
  for path in "${!SEEN[@]}"; do
    mkdir -p "$(dirname "$DEST/$path")"
    cp "$STAGE/$path" "$DEST/$path"
  done
  echo "wrote  vendor/datadocs/"
fi

# Files in vendor/datadocs/ that the manifest does not list.
while IFS= read -r f; do
  rel="${f#"$DEST/"}"
  case "$rel" in manifest.tsv|README.md) continue ;; esac
  if [ -z "${SEEN[$rel]:-}" ]; then
    echo "UNLISTED vendor/datadocs/$rel (not in manifest.tsv)" >&2
    bad=1
  fi
done < <(find "$DEST" -type f)
[ "$bad" = 0 ] || die "vendor/datadocs/ does not match manifest.tsv"
echo "ok     vendor/datadocs/ matches manifest.tsv"
