# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the in-guest tests for markers.ko's sysfs interface (sourced
# after ktap.sh). The formats are those of
# Documentation/ABI/testing/sysfs-kernel-markers.

m=/markers/modules
sys=/sys/kernel/markers
ctl=$sys/control

# marker_field NAME FIELD: FIELD of marker NAME's line in the control
# listing: "state" (on, off, pending), or the value of a FIELD=VALUE column
# (enable, print, sites, hits, probes, sig, format); "none" if not listed.
marker_field() {
	awk -v n="$1" -v f="$2" '
		$1 == "marker" && $2 == n {
			found = 1
			if (f == "state") { print $3; exit }
			for (i = 4; i <= NF; i++)
				if (index($i, f "=") == 1) { print substr($i, length(f) + 2); exit }
		}
		END { if (!found) print "none" }' $ctl
}

# marker_state NAME: on, off, pending, or none.
marker_state() { marker_field "$1" state; }

# hits NAME: the hits of marker NAME.
hits() { marker_field "$1" hits; }

# probe_state NAME: the state of the first probe registered on NAME
# (attached, pending, mismatch), or none.
probe_state() {
	awk -v n="$1" '$1 == "probe" && $2 == n { print $5; f = 1; exit } END { if (!f) print "none" }' $ctl
}

# site_field NAME ID FIELD: "state" or "location" of site NAME/ID, or the
# value of a FIELD=VALUE column (enable, override, init); "none" if absent.
site_field() {
	awk -v s="$1/$2" -v f="$3" '
		$1 == "site" && $2 == s {
			found = 1
			if (f == "location") { print $4; exit }
			if (f == "state") { print $5; exit }
			for (i = 6; i <= NF; i++)
				if (index($i, f "=") == 1) { print substr($i, length(f) + 2); exit }
		}
		END { if (!found) print "none" }' $ctl
}

# counter NAME: a counter of the patcher (int3, late, passes, rewrites,
# refused, syncs).
counter() { awk -v n="$1" '$1 == n { print $2 }' $sys/stats; }

# int3s: int3 traps handled so far.
int3s() { counter int3; }

# ctl_write TEXT: write TEXT to the control file in one write(2) (printf
# with one argument is one write in busybox sh).
ctl_write() { printf '%s\n' "$1" >$ctl; }
