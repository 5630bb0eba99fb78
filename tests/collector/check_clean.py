#!/usr/bin/env python3
# check_clean.py json|jsonfile|text FILE: FILE is valid UTF-8 and holds nothing a terminal would act on
# (C0/C1 controls but newline, line and paragraph separators, bidi controls); json: every line parses
# (jsonfile: the whole file), checked in its decoded strings. What the readers print of hostile bytes.
import json, sys, unicodedata
mode, path = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
try:
    text = data.decode('utf-8', 'strict')
except UnicodeDecodeError as e:
    sys.exit(f"{path}: not valid UTF-8: {e}")
def clean(s, where):
    for c in s:
        if (unicodedata.category(c) in ('Cc', 'Zl', 'Zp') and c != '\n') or c in '\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069':
            sys.exit(f"{path}: {where}: control character U+{ord(c):04X} in {s[:120]!r}")
def walk(v, where):
    if isinstance(v, str): clean(v, where)
    elif isinstance(v, list): [walk(x, where) for x in v]
    elif isinstance(v, dict): [walk(x, where) or clean(k, where) for k, x in v.items()]
if mode == 'json':
    for n, line in enumerate(text.splitlines(), 1):
        try:
            walk(json.loads(line), f"line {n}")
        except json.JSONDecodeError as e:
            sys.exit(f"{path}: line {n} is not JSON: {e}")
elif mode == 'jsonfile':
    walk(json.loads(text), "file")
else:
    clean(text, "text")
