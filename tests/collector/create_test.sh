#!/usr/bin/env bash
# Creating a recording as root for a user (sudo: SUDO_UID) in a directory that user owns. The user
# plants symlinks: the directory asked for is one into a root-only directory, the -wal's name is one
# there, and a loop swaps the directory for such a symlink while recordings are created. wqscope
# creates the file, its -wal and -shm as that user: it refuses what leads elsewhere, and touches no
# file outside the one asked for. `wqscope import` makes the recordings: the same creation as record's.
wqscope=$1 log=$2
source "$(dirname "$0")/common.sh"
need_root "creating files for another user (setfsuid)"
user=nobody uid=$(id -u nobody) gid=$(id -g nobody)
as_user() { setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all "$@"; }
sudo_import() { SUDO_UID=$uid SUDO_GID=$gid "$wqscope" import "$log" -o "$1"; }
u=$tmp/user root=$tmp/root
mkdir -m 755 "$u" "$root"
chown "$uid:$gid" "$u"
echo "root's" > "$root/victim"
untouched() { (cd "$root" && find . -printf '%p %s %u %T@\n' | sort; md5sum victim); }
before=$(untouched)
check_root() { [[ $(untouched) == "$before" ]] || fail "$1: a file outside the one asked for: $(ls -la "$root")"; }

# The directory asked for is the user's symlink into root's.
as_user ln -s "$root" "$u/link"
sudo_import "$u/link/rec.db" > /dev/null 2>&1 && fail "created through the user's symlink into a root-only directory"
check_root "symlinked directory"
# The -wal's and -shm's names are the user's symlinks.
as_user ln -s "$root/victim" "$u/w.db-wal"
as_user ln -s "$root/made-shm" "$u/w.db-shm"
sudo_import "$u/w.db" > /dev/null 2>&1
check_root "symlinked -wal"
# The directory swapped for a symlink and back while recordings are created.
as_user mkdir "$u/d"
# (setpriv directly, not through as_user: $! is then the loop's own pid.)
setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all bash -c \
  "while [[ -d '$u' ]]; do mv '$u/d' '$u/real' && ln -s '$root' '$u/d' && rm '$u/d' && mv '$u/real' '$u/d'; done" \
  2> /dev/null &
swapper=$!
for i in $(seq 40); do sudo_import "$u/d/rec$i.db" > /dev/null 2>&1; done
kill "$swapper"; wait "$swapper" 2>/dev/null
check_root "racing swap"
# And a plain one: the user's, complete, with no -wal or -shm left.
sudo_import "$u/ok.db" > /dev/null 2> "$tmp/err" || fail "a plain recording: $(cat "$tmp/err")"
[[ $(stat -c %u:%g "$u/ok.db") == "$uid:$gid" ]] || fail "owned by $(stat -c %u:%g "$u/ok.db"), not the user"
[[ ! -e $u/ok.db-wal && ! -e $u/ok.db-shm ]] || fail "-wal or -shm left"
"$wqscope" show "$u/ok.db" > /dev/null || fail "show"
echo "PASS: symlinked directory refused, symlinked -wal and racing swaps touch nothing of root's; created as the user"
