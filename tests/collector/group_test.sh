#!/usr/bin/env bash
# group_test.sh WQSCOPE DEMO: `--group NAME` makes a recording (and its -wal and -shm) mode 0640
# owned by that group: a member reads it without root, while it is written and after, from a
# directory they cannot write; anyone else cannot. A throwaway user and group are created for it.
wqscope=$1 demo=$2
source "$(dirname "$0")/common.sh"
need_root "creating a user and a group and recording (CAP_BPF, CAP_PERFMON)"
group=wqst$$ member=wqsu$$
groupadd "$group" || fail "groupadd $group"
useradd -M -N -g nogroup -G "$group" -s /usr/sbin/nologin "$member" || { groupdel "$group"; fail "useradd $member"; }
trap 'userdel "$member"; groupdel "$group"; cleanup' EXIT
gid=$(getent group "$group" | cut -d: -f3)
as_member() { setpriv --reuid="$member" --regid=nogroup --init-groups --inh-caps=-all "$@"; }
as_other() { setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$@"; }
mode_of() {  # FILE: mode 0640, owned by the group
  [[ $(stat -c '%a %g' "$1") == "640 $gid" ]] || fail "$1: mode and gid $(stat -c '%a %g' "$1"), not 640 $gid"
}

db=$tmp/g.db
"$wqscope" record --group "$group" -o "$db" -- "$demo" server --seconds 30 > "$tmp/out" 2>&1 &
rec=$!
wait_attached "$tmp/out"
for _ in $(seq 300); do [[ $(q "$db" "SELECT count(*) > 0 FROM streams") == 1 ]] && break; sleep 0.1; done
for f in "$db" "$db-wal" "$db-shm"; do mode_of "$f"; done
as_member "$wqscope" show "$db" > "$tmp/live" 2>&1 || { cat "$tmp/live"; fail "a member cannot read it while it is written"; }
kill -INT $rec
wait $rec
rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/out"; fail "record --group: exit status $rc"; }
mode_of "$db"
[[ ! -e $db-wal ]] || fail "the -wal outlived the recording"
as_member "$wqscope" show "$db" > "$tmp/show" 2>&1 || { cat "$tmp/show"; fail "a member cannot read it"; }
grep -q "Showing busy workqueues" "$tmp/show" || { cat "$tmp/show"; fail "show, as a member"; }
[[ $(as_member sqlite3 -readonly "$db" "SELECT count(*) > 0 FROM events WHERE seq > 0") == 1 ]] \
  || fail "a member cannot query it with sqlite3"
as_other "$wqscope" show "$db" > "$tmp/other" 2>&1 && fail "someone outside the group read it"
grep -qF "cannot read the recording: Permission denied" "$tmp/other" || { cat "$tmp/other"; fail "outsider's message"; }

# watch -o takes it too; bad values are refused before anything runs.
"$wqscope" watch --group "$group" -o "$tmp/w.db" -- "$demo" doc-highpri > "$tmp/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || { cat "$tmp/out"; fail "watch --group: exit status $rc"; }
mode_of "$tmp/w.db"
expect2() {  # MESSAGE COMMAND...: exit status 2, the message, no recording
  local msg=$1
  shift
  out=$("$@" 2>&1)
  [[ $? -eq 2 ]] && grep -qF -- "$msg" <<<"$out" || fail "'$*': $out"
  [[ ! -e $tmp/n.db ]] || fail "'$*' left a recording behind"
}
expect2 "--group 'no-such-group-$$': no such group (\`getent group\` lists the groups" \
  "$wqscope" record --group no-such-group-$$ -o "$tmp/n.db" -- "$demo" hog
expect2 "--group applies to the recording: give -o FILE too" "$wqscope" watch --group "$group" -- "$demo" hog
echo "group: 0640 and group $group for the recording, its -wal and -shm; a member reads it live and after; others cannot; bad values refused"
