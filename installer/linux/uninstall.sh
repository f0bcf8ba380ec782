#!/bin/sh
# Remove PMC installed by install.sh for the current user. It is copied into the program
# folder (~/.local/opt/pmc/uninstall.sh) and removes that folder, the ~/.local/bin/pmc link
# (if it points there), the menu entry, the icons and the AppStream file.
# Kept: your inventory, PMC's known hosts, job history and logs (~/.config/pmc,
# ~/.local/share/pmc, ~/.local/state/pmc) and the passwords in your keyring; delete those
# yourself if you want them gone.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=${PMC_PREFIX:-"$here"}
bin_dir=${PMC_BIN_DIR:-"$HOME/.local/bin"}
data_home=${XDG_DATA_HOME:-"$HOME/.local/share"}

[ -x "$prefix/pmc" ] && [ -d "$prefix/_internal" ] || {
    echo "uninstall.sh: $prefix is not a PMC program folder; nothing removed" >&2
    exit 1
}

link="$bin_dir/pmc"
if [ -L "$link" ] && [ "$(readlink "$link")" = "$prefix/pmc" ]; then
    rm -f "$link"
fi
rm -f "$data_home/applications/pmc.desktop" \
    "$data_home/icons/hicolor/scalable/apps/pmc.svg" \
    "$data_home/icons/hicolor/256x256/apps/pmc.png" \
    "$data_home/metainfo/com.icareus.pmc.metainfo.xml"
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$data_home/applications" 2>/dev/null || true
fi
cd /
rm -rf "$prefix"
echo "PMC is removed. Your inventory and history are kept in ~/.config/pmc and ~/.local/share/pmc."
