package httpsink

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Transport timeouts. The per-attempt Timeout bounds each request as a
// whole through its context; these bound the phases that can otherwise
// hold a pooled connection's slot.
const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	tcpKeepAlive        = 30 * time.Second
)

// newTransport is a keep-alive pool sized so that maxInFlight concurrent
// deliveries never dial more than maxInFlight connections, and never close
// a connection for lack of idle slots. Every successful dial increments
// opened.
func newTransport(maxInFlight int, tlsConfig *tls.Config, opened *atomic.Uint64) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: tcpKeepAlive}
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				opened.Add(1)
			}
			return c, err
		},
		TLSClientConfig:     tlsConfig,
		ForceAttemptHTTP2:   true, // a custom DialContext turns HTTP/2 off otherwise
		MaxIdleConns:        maxInFlight,
		MaxIdleConnsPerHost: maxInFlight,
		// Caps dials that race an idle connection coming back, so the pool
		// cannot grow beyond the concurrency.
		MaxConnsPerHost:       maxInFlight,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ExpectContinueTimeout: time.Second,
		// The receiver's answer is read only to drain it or to quote it in
		// a dead letter, neither worth compressing; asking for gzip also
		// cost every request a header (two allocations).
		DisableCompression: true,
	}
}
