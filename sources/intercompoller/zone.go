package intercompoller

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA names must resolve in minimal containers too
)

// javaShortIDs are Java's three-letter zone ids (java.time.ZoneId
// SHORT_IDS), which SAP Open Connectors' Java runtime accepted as
// *DateTimezone values. Daylight-saving abbreviations Java does not know
// get their fixed offsets.
var javaShortIDs = map[string]string{
	"ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
	"ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo",
	"BST": "Asia/Dhaka", "CAT": "Africa/Harare", "CNT": "America/St_Johns", "CST": "America/Chicago",
	"CTT": "Asia/Shanghai", "EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris",
	"IET": "America/Indiana/Indianapolis", "IST": "Asia/Kolkata", "JST": "Asia/Tokyo",
	"MIT": "Pacific/Apia", "NET": "Asia/Yerevan", "NST": "Pacific/Auckland", "PLT": "Asia/Karachi",
	"PNT": "America/Phoenix", "PRT": "America/Puerto_Rico", "PST": "America/Los_Angeles",
	"SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
}

var fixedAbbrevs = map[string]int{ // hours east of UTC
	"EST": -5, "MST": -7, "HST": -10, "EDT": -4, "CDT": -5, "MDT": -6, "PDT": -7,
}

// location resolves a SAP Open Connectors timezone: "" (UTC), GMT, UTC, Z,
// an offset (-08:00, +0530, -8, GMT+01:00), a Java short id (EST, PST) or an
// IANA name (Europe/Berlin).
func location(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	switch strings.ToUpper(name) {
	case "", "GMT", "UTC", "Z", "UT":
		return time.UTC, nil
	}
	if loc, ok := offsetZone(name); ok {
		return loc, nil
	}
	upper := strings.ToUpper(name)
	if h, ok := fixedAbbrevs[upper]; ok {
		return time.FixedZone(upper, h*3600), nil
	}
	if id, ok := javaShortIDs[upper]; ok {
		name = id
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q (use GMT, an offset like -08:00, or a name like America/New_York)", name)
	}
	return loc, nil
}

// offsetZone parses "+08:00", "-8:00", "-0800", "+5", optionally after GMT
// or UTC.
func offsetZone(s string) (*time.Location, bool) {
	u := strings.ToUpper(s)
	for _, p := range []string{"GMT", "UTC"} {
		u = strings.TrimPrefix(u, p)
	}
	if u == "" || (u[0] != '+' && u[0] != '-') {
		return nil, false
	}
	sign := 1
	if u[0] == '-' {
		sign = -1
	}
	hh, mm, hasColon := strings.Cut(u[1:], ":")
	if !hasColon && len(hh) == 4 {
		hh, mm = hh[:2], hh[2:]
	}
	h, err := strconv.Atoi(hh)
	if err != nil || h > 14 || len(hh) > 2 {
		return nil, false
	}
	m := 0
	if mm != "" {
		if m, err = strconv.Atoi(mm); err != nil || m > 59 || len(mm) != 2 {
			return nil, false
		}
	}
	off := sign * (h*3600 + m*60)
	return time.FixedZone(s, off), true
}
