#!/bin/sh
# Install PMC for the current user, no root needed: run it from the unpacked tarball.
#
#   ./install.sh            install (or upgrade) into ~/.local/opt/pmc
#   PMC_PREFIX=DIR ./install.sh   install the program folder into DIR instead
#
# What goes where (XDG_DATA_HOME defaults to ~/.local/share):
#   ~/.local/opt/pmc/                          the program (one folder, with uninstall.sh)
#   ~/.local/bin/pmc                           a link to it, for terminals
#   $XDG_DATA_HOME/applications/pmc.desktop    the application-menu entry
#   $XDG_DATA_HOME/icons/hicolor/…/apps/pmc.*  its icon (SVG and 256x256 PNG)
#   $XDG_DATA_HOME/metainfo/com.icareus.pmc.metainfo.xml   AppStream description
# Your inventory, known hosts and job history (~/.config/pmc, ~/.local/share/pmc) are never
# touched by installing, upgrading or uninstalling.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${PMC_PREFIX:-"$HOME/.local/opt/pmc"}
bin_dir=${PMC_BIN_DIR:-"$HOME/.local/bin"}
data_home=${XDG_DATA_HOME:-"$HOME/.local/share"}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

[ -x "$here/pmc/pmc" ] || die "no program folder next to this script ($here/pmc/pmc is missing); run install.sh from the unpacked tarball"
[ "$(id -u)" -ne 0 ] || [ -n "${PMC_PREFIX:-}" ] ||
    echo "install.sh: note: installing for root only; operators should run this as themselves" >&2

# The program folder: copy next to the old one, then swap, so that an interrupted upgrade
# leaves the previous version working.
parent=$(dirname "$prefix")
mkdir -p "$parent" "$bin_dir" \
    "$data_home/applications" "$data_home/metainfo" \
    "$data_home/icons/hicolor/scalable/apps" "$data_home/icons/hicolor/256x256/apps"
staging="$prefix.new.$$"
rm -rf "$staging"
cp -R "$here/pmc" "$staging"
cp "$here/uninstall.sh" "$staging/uninstall.sh"
chmod 755 "$staging/uninstall.sh"
if [ -e "$prefix" ]; then
    [ -x "$prefix/pmc" ] || die "$prefix exists but is not a PMC installation; move it away or set PMC_PREFIX"
    mv "$prefix" "$prefix.old.$$"
    mv "$staging" "$prefix"
    rm -rf "$prefix.old.$$"
else
    mv "$staging" "$prefix"
fi

# A link for terminals (only ever replacing a link, never a file someone put there).
link="$bin_dir/pmc"
if [ -e "$link" ] && [ ! -L "$link" ]; then
    echo "install.sh: $link exists and is not a link; left alone (run $prefix/pmc instead)" >&2
else
    ln -sfn "$prefix/pmc" "$link"
fi

# Desktop entry with the absolute path, so it works whatever the desktop session's PATH is.
# Exec quoting (Desktop Entry spec): \ " ` $ get a backslash, itself escaped once more for
# the string, and % doubles; TryExec is a plain string.
exec_path=$(printf '%s' "$prefix/pmc" | sed -e 's/[\\"`$]/\\\\&/g' -e 's/%/%%/g')
try_path=$(printf '%s' "$prefix/pmc" | sed -e 's/\\/\\\\/g')
exec_args=$(sed -n 's/^Exec=pmc//p' "$here/share/applications/pmc.desktop")
entry="$data_home/applications/pmc.desktop"
{
    grep -v -e '^Exec=' -e '^TryExec=' "$here/share/applications/pmc.desktop"
    printf 'Exec="%s"%s\n' "$exec_path" "$exec_args"
    printf 'TryExec=%s\n' "$try_path"
} > "$entry.tmp"
mv "$entry.tmp" "$entry"
cp "$here/share/icons/hicolor/scalable/apps/pmc.svg" "$data_home/icons/hicolor/scalable/apps/pmc.svg"
cp "$here/share/icons/hicolor/256x256/apps/pmc.png" "$data_home/icons/hicolor/256x256/apps/pmc.png"
cp "$here/share/metainfo/com.icareus.pmc.metainfo.xml" "$data_home/metainfo/"

# Menus and icon caches pick the new files up by themselves on most desktops; help the rest.
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data_home/applications" 2>/dev/null || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$data_home/icons/hicolor/index.theme" ]; then
    gtk-update-icon-cache -q -t "$data_home/icons/hicolor" 2>/dev/null || true
fi

# Libraries the desktop must provide (PyInstaller does not bundle X11/Wayland and OpenGL).
missing=""
if command -v ldconfig >/dev/null 2>&1 || [ -x /sbin/ldconfig ]; then
    libs=$( (command -v ldconfig >/dev/null 2>&1 && ldconfig -p) || /sbin/ldconfig -p)
    for lib in libxcb.so.1 libEGL.so.1 libGL.so.1 libwayland-client.so.0; do
        printf '%s\n' "$libs" | grep -q "$lib" || missing="$missing $lib"
    done
fi

echo "PMC $("$prefix/pmc" --version | sed 's/^pmc //') is installed in $prefix"
echo "Start it from the application menu (Playout Management Console) or run: pmc"
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "Note: $bin_dir is not on your PATH yet; log out and in again (Debian adds it when it exists), or run $prefix/pmc" ;;
esac
if [ -n "$missing" ]; then
    echo "Missing system libraries:$missing"
    echo "On Debian 12 install them with (as root): apt install libxcb1 libxcb-cursor0 libegl1 libgl1 libwayland-client0 libwayland-cursor0 libwayland-egl1 libfontconfig1 libdbus-1-3"
fi
echo "To remove PMC (your inventory and history stay): $prefix/uninstall.sh"
