#!/usr/bin/env bash
# make deb: builds the Debian package from a clean copy of this tree (tracked
# files and new, not ignored ones: what you see, not what is committed) so that
# dpkg-buildpackage writes nothing into the checkout or beside it. The version
# is meson.build's; the result is build-deb/postern_<version>_<arch>.deb.
# DEB_BUILD_OPTIONS passes through (e.g. "nocheck parallel=2").
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
out=$top/build-deb
version=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" meson.build | head -1)
if [ -z "$version" ]; then
	echo "deb.sh: no version in meson.build" >&2
	exit 1
fi
for tool in dpkg-buildpackage dh; do
	command -v "$tool" >/dev/null || { echo "deb.sh: $tool missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

stage=$out/src/postern-$version
rm -rf "$out/src"
mkdir -p "$stage"
rm -f "$out"/postern_*.deb "$out"/postern-dbgsym_*.*deb "$out"/postern_*.buildinfo "$out"/postern_*.changes
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$stage"
else
	tar --exclude='./build*' --exclude=./var --exclude=./.git -cf - . | tar -xf - -C "$stage"
fi

# the package's version is the project's: debian/changelog's top entry follows it
changelog_version=$(sed -n '1s/^postern (\([^)]*\)).*/\1/p' "$stage/debian/changelog")
if [ "$changelog_version" != "$version" ]; then
	echo "deb.sh: debian/changelog says $changelog_version, meson.build $version: packaging $version" >&2
	sed -i "1s/^postern ([^)]*)/postern ($version)/" "$stage/debian/changelog"
fi

(cd "$stage" && dpkg-buildpackage -b -us -uc)
mv "$out"/src/postern_"$version"_*.deb "$out"/
mv "$out"/src/*.buildinfo "$out"/src/*.changes "$out"/ 2>/dev/null || true
mv "$out"/src/postern-dbgsym_* "$out"/ 2>/dev/null || true
rm -rf "$out/src"
ls "$out"/postern_"$version"_*.deb
