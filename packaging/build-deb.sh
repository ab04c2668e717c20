#!/bin/sh
# Stage the files where the package installs them and build the .deb with dpkg-deb.
# usage: packaging/build-deb.sh VERSION OUTDIR
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$1
out=$2
stage=$out/stage
rm -rf "$stage"
install -D -m 755 "$repo/build/zerotrace" "$stage/usr/sbin/zerotrace"
install -D -m 644 "$repo/packaging/zerotrace.service" "$stage/lib/systemd/system/zerotrace.service"
install -D -m 644 "$repo/configs/zerotrace.yaml" "$stage/etc/zerotrace/zerotrace.yaml"
install -D -m 644 "$repo/README.md" "$stage/usr/share/doc/zerotrace/README.md"
install -d "$stage/DEBIAN"
sed "s/@VERSION@/$version/" "$repo/packaging/debian/control" > "$stage/DEBIAN/control"
echo "Installed-Size: $(du -sk "$stage" | cut -f1)" >> "$stage/DEBIAN/control"
install -m 644 "$repo/packaging/debian/conffiles" "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 755 "$repo/packaging/debian/$s" "$stage/DEBIAN/$s"
done
dpkg-deb --root-owner-group --build "$stage" "$out/zerotrace_${version}_amd64.deb" >/dev/null
rm -rf "$stage"
echo "$out/zerotrace_${version}_amd64.deb"
