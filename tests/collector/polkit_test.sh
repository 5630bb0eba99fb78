#!/usr/bin/env bash
# polkit_test.sh CMAKE BUILD POLICY WQSCOPE ACTIONS_DIR: the polkit action the build generates (POLICY)
# is well-formed XML for exactly `WQSCOPE record` (never a shell, never without authentication), and
# `cmake --install` puts it where polkit reads actions (ACTIONS_DIR, relative: under the prefix).
cmake=$1 build=$2 policy=$3 wqscope=$4 actions=$5
source "$(dirname "$0")/common.sh"
python3 - "$policy" "$wqscope" <<'PY' || fail "$policy"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'policyconfig', root.tag
actions = root.findall('action')
assert [a.get('id') for a in actions] == ['org.wqscope.record'], [a.get('id') for a in actions]
a = actions[0]
annotations = {x.get('key'): x.text for x in a.findall('annotate')}
assert annotations == {'org.freedesktop.policykit.exec.path': sys.argv[2],
                       'org.freedesktop.policykit.exec.argv1': 'record'}, annotations
assert sys.argv[2].startswith('/'), 'exec.path must be absolute'
for who in ('allow_any', 'allow_inactive', 'allow_active'):
    answer = a.findtext(f'defaults/{who}')
    assert answer in ('auth_admin', 'auth_admin_keep'), f'{who}: {answer}'
assert a.findtext('description') and a.findtext('message')
PY
"$cmake" --install "$build" --prefix "$tmp/prefix" --component polkit > "$tmp/install" 2>&1 \
  || { cat "$tmp/install"; fail "cmake --install"; }
[[ $actions == /* ]] && installed=$actions/org.wqscope.record.policy || installed=$tmp/prefix/$actions/org.wqscope.record.policy
cmp "$policy" "$installed" || fail "not installed as $installed: $(find "$tmp/prefix" -type f)"
echo "polkit: org.wqscope.record for exactly $wqscope record, authenticated; installed in $actions"
