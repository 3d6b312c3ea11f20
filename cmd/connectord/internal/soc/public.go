package soc

import (
	"net"
	"strings"
)

// EnvPublicURL is the variable naming the base URL Intercom reaches
// connectord's --listen at (https://events.example.com); webhook URLs are
// printed under it.
const EnvPublicURL = "CONNECTORD_PUBLIC_URL"

// PublicBase is the base of webhook URLs: public (CONNECTORD_PUBLIC_URL)
// when set, else http://<listen address> with an unspecified host shown as
// 127.0.0.1.
func PublicBase(public, listen string) string {
	if public != "" {
		return strings.TrimSuffix(public, "/")
	}
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	if host, port, err := net.SplitHostPort(listen); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		listen = net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + listen
}
