#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The console examples of the documentation, run as written: one result per
# example, named FILE:LINE.  scripts/doc-examples.py (run by `make docs` and
# `make check`) extracts them into /markers/testing/doc-examples.txt; see it
# for the conventions ("# " commands, "..." wildcards).  Each example starts
# with markers.ko and markers_sample.ko freshly loaded and nothing enabled,
# runs its commands in a folder holding every module of the project (and of
# the kit, when built), and compares the transcript with the text; a
# difference fails it and is printed as a diff.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

ex=/markers/testing/doc-examples.txt
if ! [ -s $ex ]; then
	ktap_begin 1
	ktap_result 1 "the documentation's examples were extracted (make docs)"
	ktap_end
	exit
fi

tmp=$(mktemp -d)
# Every module, by file name, in one folder: the examples' working directory.
mkdir $tmp/ko
for ko in $m/*.ko /markers/kit/*.ko; do
	[ -e "$ko" ] && ln -s "$ko" $tmp/ko/
done

# One file per example: NNN.exp (its lines), NNN.name (FILE:LINE).
awk -v d=$tmp '
	/^@@@ / { if (f) close(f); n++; f = sprintf("%s/%03d.exp", d, n)
		  printf "%s\n", substr($0, 5) >(sprintf("%s/%03d.name", d, n)); next }
	{ print >f }' $ex
n=$(ls $tmp/*.exp | wc -l)

# Unloads every module of the project (dependents first), then loads
# markers.ko and the sample.
fresh() {
	for _round in 1 2 3 4 5; do
		_mods=$(awk '$1 ~ /^markers/ { print $1 }' /proc/modules)
		[ -n "$_mods" ] || break
		for _mod in $_mods; do rmmod "$_mod" 2>/dev/null; done
	done
	insmod $m/markers.ko && insmod $m/markers_sample.ko
}

# transcript EXP: runs the commands of EXP, prints each and its output.
transcript() {
	grep '^# ' "$1" | while IFS= read -r _line; do
		printf '%s\n' "$_line"
		(cd $tmp/ko && sh -c "${_line#\# }" 2>&1 </dev/null)
	done
}

# compare EXP ACT: whether ACT matches EXP ("..." wildcards, trailing blanks
# ignored); if not, a diff: " " lines matched, "-" expected, "+" actual.
compare() {
	awk '
	function glob(p, s,   parts, k, i, pos, at, last) {
		k = split(p, parts, /\.\.\./)
		if (k == 1) return p == s
		if (substr(s, 1, length(parts[1])) != parts[1]) return 0
		pos = length(parts[1]) + 1
		for (i = 2; i < k; i++) {
			at = index(substr(s, pos), parts[i])
			if (!at) return 0
			pos += at - 1 + length(parts[i])
		}
		last = parts[k]
		if (length(s) - pos + 1 < length(last)) return 0
		return substr(s, length(s) - length(last) + 1) == last
	}
	{ sub(/[ \t]+$/, "") }
	FNR == NR { e[++ne] = $0; next }
	{ a[++na] = $0 }
	END {
		i = 1; j = 1
		while (i <= ne) {
			if (e[i] == "...") {
				if (i == ne) { while (j <= na) out[++no] = " " a[j++]; i++; continue }
				if (j <= na && !glob(e[i + 1], a[j])) { out[++no] = " " a[j++]; continue }
				i++; continue
			}
			if (j <= na && glob(e[i], a[j])) { out[++no] = " " a[j++]; i++; continue }
			break
		}
		if (i > ne && j > na) exit 0
		print "--- expected"
		print "+++ actual"
		for (k = 1; k <= no; k++) print out[k]
		for (; i <= ne; i++) print "-" e[i]
		for (; j <= na; j++) print "+" a[j]
		exit 1
	}' "$1" "$2"
}

ktap_begin $n
for exp in $tmp/*.exp; do
	base=${exp%.exp}
	name=$(cat $base.name)
	if grep -q '^# .*markers_kit_' $exp && ! [ -d /markers/kit ]; then
		ktap_result 0 "$name # SKIP the kit's samples are not built (make check builds them)"
		continue
	fi
	if ! fresh >$base.log 2>&1; then
		sed 's/^/# /' $base.log
		ktap_result 1 "$name"
		continue
	fi
	transcript $exp >$base.act
	ktap_check "$name" compare $exp $base.act
done
fresh >/dev/null 2>&1
rmmod markers_sample markers
rm -rf $tmp
ktap_end
