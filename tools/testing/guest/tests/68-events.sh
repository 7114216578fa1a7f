#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Markers as trace events: events/markers/<name>/ appears and goes with the
# module that defines the marker, its format carries the arguments' names and
# types, enabling it through tracefs arms the marker and records every hit
# with exact field values, a filter drops what it should, a hist trigger
# counts, disabling undoes it all, and perf records the events.
#
# markers_event_test.ko fires ev_rx and ev_misc N times when N is written to
# its debugfs file; the values of hit i are functions of i alone (see
# tools/testing/modules/markers_event_test_main.rs).

. /markers/testing/ktap.sh
. /markers/testing/markers.sh

t=/sys/kernel/tracing
ev=$t/events/markers
fire=/sys/kernel/debug/markers_event_test/fire

# expect_rx FIRST LAST [odd]: the ev_rx lines of hits FIRST..LAST (only odd
# hits with "odd"), as the trace file prints them after "ev_rx: ".
expect_rx() {
	i=$1
	while [ $i -le $2 ]; do
		if [ "$3" != odd ] || [ $((i % 2)) = 1 ]; then
			d=even
			[ $((i % 2)) = 1 ] && d=odd
			ok=false
			[ $((i % 3)) = 0 ] && ok=true
			echo "len=$((64 * i)) dev=$d delta=$((-i)) ok=$ok"
		fi
		i=$((i + 1))
	done
}

expect_misc() {
	i=$1
	while [ $i -le $2 ]; do
		printf 'tag=t%d data=%02x%02x%02x b=%d s=%d p=0x%x z=%d h=%d u=%d w=%d q=%d n=%d\n' \
			$((i % 10)) $i $((i + 1)) $((i + 2)) $i $((-i)) $((0x1000 + i)) $((2 * i)) \
			$((-i)) $((100 * i)) $((-100000 * i)) $(((1 << 40) + i)) $((-2 * i))
		i=$((i + 1))
	done
}

# recorded NAME: the fields of every NAME event in the trace buffer.
recorded() { grep " $1: " $t/trace | sed "s/.* $1: //"; }

# same_lines WANT-FILE GOT-FILE: equal, or a diff-like report.
same_lines() {
	if cmp -s "$1" "$2"; then
		return 0
	fi
	echo "expected ($(wc -l <"$1") lines):"
	sed 's/^/-/' "$1" | head -20
	echo "recorded ($(wc -l <"$2") lines):"
	sed 's/^/+/' "$2" | head -20
	return 1
}

check_recorded() { # NAME WANT
	recorded "$1" >/tmp/got
	printf '%s\n' "$2" >/tmp/want
	same_lines /tmp/want /tmp/got
}

format_fields() { grep 'field:' $ev/$1/format | grep -v common_ | sed 's/^[[:space:]]*//'; }

# same_fields NAME WANT: the event's own fields are WANT.
same_fields() {
	format_fields "$1" >/tmp/got
	printf '%s\n' "$2" >/tmp/want
	same_lines /tmp/want /tmp/got
}

# is WANT CMD...: CMD prints WANT.
is() {
	_want=$1
	shift
	_got=$("$@")
	[ "$_got" = "$_want" ] && return 0
	echo "expected '$_want', got '$_got'"
	return 1
}

states() { echo "$(marker_state ev_rx) $(marker_state ev_misc)"; }
enable_both() { echo "$1" >$ev/ev_rx/enable && echo "$1" >$ev/ev_misc/enable; }

ktap_begin 20
insmod $m/markers.ko
ktap_check "the module with markers loads" insmod $m/markers_event_test.ko
ktap_check "events/markers/ev_rx and ev_misc appear, each with an id" \
	sh -c "grep -q '^[0-9]' $ev/ev_rx/id && grep -q '^[0-9]' $ev/ev_misc/id"

want='field:u32 len;	offset:8;	size:4;	signed:0;
field:__data_loc char[] dev;	offset:12;	size:4;	signed:0;
field:s64 delta;	offset:16;	size:8;	signed:1;
field:bool ok;	offset:24;	size:1;	signed:0;'
ktap_check "ev_rx's fields: the format's names, the arguments' types" same_fields ev_rx "$want"
want='field:__data_loc char[] tag;	offset:8;	size:4;	signed:0;
field:__data_loc u8[] data;	offset:12;	size:4;	signed:0;
field:u8 b;	offset:16;	size:1;	signed:0;
field:s16 s;	offset:18;	size:2;	signed:1;
field:void * p;	offset:24;	size:8;	signed:0;
field:unsigned long z;	offset:32;	size:8;	signed:0;
field:s8 h;	offset:40;	size:1;	signed:1;
field:u16 u;	offset:42;	size:2;	signed:0;
field:s32 w;	offset:44;	size:4;	signed:1;
field:u64 q;	offset:48;	size:8;	signed:0;
field:long n;	offset:56;	size:8;	signed:1;'
ktap_check "ev_misc's fields: strings, bytes, integers of every width, a pointer" same_fields ev_misc "$want"
ktap_check "print fmt follows the marker's format" \
	grep -qF 'print fmt: "len=%u dev=%s delta=%lld ok=%s", REC->len, __get_str(dev), REC->delta, REC->ok ? "true" : "false"' $ev/ev_rx/format

echo >$t/trace
enable_both 1
ktap_check "enabling the events through tracefs arms both markers" is "on on" states
echo 20 >$fire
ktap_check "20 hits: 20 ev_rx events with exact values" check_recorded ev_rx "$(expect_rx 0 19)"
ktap_check "20 hits: 20 ev_misc events with exact values" check_recorded ev_misc "$(expect_misc 0 19)"
both_hits() { echo "$(hits ev_rx) $(hits ev_misc)"; }
ktap_check "the markers counted the same hits" is "20 20" both_hits

echo >$t/trace
echo 'len > 64 && dev == "odd"' >$ev/ev_rx/filter
echo 20 >$fire
ktap_check "a filter keeps exactly the matching events" check_recorded ev_rx "$(expect_rx 3 19 odd)"
echo 0 >$ev/ev_rx/filter

# hist:keys=dev:vals=len over 20 hits: 10 even (len 0, 128, ... 1152:
# 5760), 10 odd (64, 192, ... 1216: 6400).
hist_of() { awk -v d="$1" '$0 ~ "dev: " d " " { for (i = 1; i <= NF; i++) if ($i == "hitcount:") h = $(i + 1); else if ($i == "len:") l = $(i + 1); print h, l }' $ev/ev_rx/hist; }
if [ -e $ev/ev_rx/hist ]; then
	echo 'hist:keys=dev:vals=len' >$ev/ev_rx/trigger
	echo 20 >$fire
	hists() { echo "$(hist_of even),$(hist_of odd)"; }
	ktap_check "a hist trigger on a field counts: even 10 hits, 5760 bytes; odd 10, 6400" \
		is "10 5760,10 6400" hists
	echo '!hist:keys=dev:vals=len' >$ev/ev_rx/trigger
else
	ktap_result 1 "a hist trigger on a field counts (no hist file: CONFIG_HIST_TRIGGERS is off)"
fi

enable_both 0
rx_probes() { echo "$(marker_state ev_rx) $(marker_field ev_rx probes) $(marker_field ev_misc probes)"; }
ktap_check "disabling the events disarms the markers and detaches the probes" is "off 0 0" rx_probes
echo >$t/trace
echo 5 >$fire
ktap_check "disabled: nothing recorded" test "$(grep -c ' ev_' $t/trace)" = 0

if command -v perf >/dev/null; then
	cd /tmp || exit 1
	ktap_check "perf record -e markers:ev_rx" \
		perf record -q -e markers:ev_rx -a -o /tmp/perf.data -- sh -c "echo 6 > $fire"
	perf script -i /tmp/perf.data -F event,trace 2>/dev/null | sed 's/^ *markers:ev_rx: *//' >/tmp/got
	expect_rx 0 5 >/tmp/want
	ktap_check "perf script prints the 6 events with exact values" same_lines /tmp/want /tmp/got
	rx_probe_count() { marker_field ev_rx probes; }
	ktap_check "perf's probe is gone after the run" is 0 rx_probe_count
else
	ktap_result 0 "perf record -e markers:ev_rx # SKIP no perf in the guest"
	ktap_result 0 "perf script prints the events # SKIP no perf in the guest"
	ktap_result 0 "perf's probe is gone after the run # SKIP no perf in the guest"
fi

# ev_big: a 2,000-byte string, a 5,000-byte C string and 5,000 bytes; the
# dynamic fields of an entry share 3,072 bytes: the string keeps its 2,000
# and a NUL, the C string 1,070 and its NUL, the bytes 1.
echo 1 >$ev/ev_big/enable
echo >$t/trace
echo 0 >$fire
big_lens() {
	recorded ev_big | awk '{ sub(/^s=/, "", $1); sub(/^c=/, "", $2); sub(/^b=/, "", $3)
		print length($1), length($2), $3 }'
}
ktap_check "strings and bytes longer than an entry holds are cut, not dropped" is "2000 1070 5a" big_lens
if command -v perf >/dev/null; then
	ktap_check "perf records the cut event too (no warning)" \
		perf record -q -e markers:ev_big -a -o /tmp/big.data -- sh -c "echo 0 > $fire"
else
	ktap_result 0 "perf records the cut event too # SKIP no perf in the guest"
fi
echo 0 >$ev/ev_big/enable

ktap_check "the events go with the module" sh -c "rmmod markers_event_test && ! test -e $ev/ev_rx && ! test -e $ev/ev_misc"
ktap_check "and come back when it loads again" sh -c "insmod $m/markers_event_test.ko && test -e $ev/ev_rx/format"
rmmod markers_event_test
rmmod markers
ktap_end
