#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A module with a malformed __markers section still loads; each bad entry is
# refused with a log line naming its reason; its valid site works; a marker
# name reused with another signature is refused in the later module only.

. /markers/testing/ktap.sh
. /markers/testing/markers.sh
refused() { dmesg | grep -c "markers: module markers_badsec: __markers entry [0-9]* refused: $1"; }

ktap_begin 20
ktap_check "core and sample load" sh -c "insmod $m/markers.ko && insmod $m/markers_sample.ko"
ktap_check "a module with a malformed section loads" insmod $m/markers_badsec.ko
ktap_check "refused: site outside the text" test "$(refused 'site outside the module.s text')" = 1
ktap_check "refused: jump target outside the site's text region" test "$(refused 'jump target not in the site.s text region')" = 1
ktap_check "refused: descriptor outside the module" test "$(refused 'descriptor outside the module')" = 1
ktap_check "refused: bad magic" test "$(refused 'descriptor with a bad magic or layout')" = 1
ktap_check "refused: descriptor of another module" test "$(refused 'descriptor of another module')" = 1
ktap_check "refused: malformed name" test "$(refused 'name not 1-63 characters')" = 1
ktap_check "refused: malformed signature, and more than 12 arguments" test "$(refused 'malformed signature')" = 2
ktap_check "refused: site state in read-only data" test "$(refused 'site state not in the module.s writable data')" = 1
ktap_check "refused: site without the NOP" sh -c "dmesg | grep -q 'markers_badsec: marker badsec_hand: site 7 does not hold the 5-byte NOP'"
ktap_check "refused: a second entry for one site" test "$(refused 'duplicate of an earlier entry.s site')" = 1
ktap_check "the first entry of that site registered" test "$(marker_field badsec_dup sites)" = 1
ktap_check "refused: a trace event recorder that is not code" test "$(refused 'trace event recorder not in the module.s core text')" = 1
ktap_check "refused: a name reused with another signature" sh -c "dmesg | grep -q 'module markers_badsec: marker sample_tick has signature \"I\" here but \"LcL\" elsewhere'"
ktap_check "the sample's marker keeps its one site" test "$(marker_field sample_tick sites)" = 1
ktap_check "refused: a marker named like a file of /sys/kernel/markers" sh -c "dmesg | grep -q \"module markers_badsec: marker name 'control' is reserved\" && test -f $ctl && ! grep -q '^marker control ' $ctl"
ktap_check "the valid site registered" test "$(marker_field badsec_ok sites)" = 1
ktap_check "and can be enabled" sh -c "echo 'marker badsec_ok +e' > $ctl && grep -q '^marker badsec_ok on ' $ctl"
ktap_check "all unload" sh -c "rmmod markers_badsec && rmmod markers_sample && rmmod markers"
ktap_end
