package job

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulkdl/bulkdl/manifest"
	"github.com/bulkdl/bulkdl/segdl"
)

// newTransport returns the RoundTripper every download of a run shares.
//
// HTTP/1.1 by default: one budget slot is one request on its own TCP
// connection, so a file split over N connections gets N times a server's
// per-connection cap. HTTP/2 would multiplex all of a host's requests over
// one connection (golang/go#37373) and undo that, so it is used only for
// hosts that set http2 = true. Certificates are verified by Go's standard
// verification, against the system roots plus [settings] ca_file, or a
// host's own ca_file; a host with insecure = true is not verified.
func newTransport(m *manifest.Manifest) (http.RoundTripper, error) {
	roots, err := pool(m.Settings.CAFile)
	if err != nil {
		return nil, err
	}
	r := &hostRouter{m: m, def: transport(m.Settings, roots, false, false), hosts: map[*manifest.Host]http.RoundTripper{}}
	for _, h := range m.Hosts {
		if h.CAFile == "" && !h.Insecure && !h.HTTP2 {
			continue
		}
		p := roots
		if h.CAFile != "" {
			if p, err = pool(h.CAFile); err != nil {
				return nil, err
			}
		}
		r.hosts[h] = transport(m.Settings, p, h.Insecure, h.HTTP2)
	}
	return r, nil
}

func transport(s manifest.Settings, roots *x509.CertPool, insecure, h2 bool) *http.Transport {
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        s.Connections,
		MaxIdleConnsPerHost: s.PerHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 30 * time.Second,
		// No ResponseHeaderTimeout: segdl's stall timeout (the manifest's
		// timeout, the same duration) already runs from before the
		// request is sent until its first byte, so a transport timer
		// per request would only duplicate it.
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
		ReadBufferSize:         64 << 10,
		WriteBufferSize:        16 << 10,
		TLSClientConfig:        &tls.Config{RootCAs: roots, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12},
	}
	if h2 {
		t.ForceAttemptHTTP2 = true
	} else {
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return t
}

// hostRouter sends each request to the transport of its host's TLS and
// protocol settings (the [hosts] entry manifest.HostEntry picks), and
// says how to fix a certificate it could not verify.
type hostRouter struct {
	m     *manifest.Manifest
	def   http.RoundTripper
	hosts map[*manifest.Host]http.RoundTripper
	// routes holds each scheme and URL host's entry key and transport:
	// the lookup (about 2µs) is made once per host, not per request.
	routes sync.Map // hostKey -> route
}

type route struct {
	key string
	rt  http.RoundTripper
}

func (r *hostRouter) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, key := r.def, ""
	if len(r.hosts) > 0 { // most manifests need no lookup
		k := hostKey{req.URL.Scheme, req.URL.Host}
		v, ok := r.routes.Load(k)
		if !ok {
			ro := route{rt: r.def}
			var h *manifest.Host
			ro.key, h = r.m.HostEntry(segdl.HostPort(req.URL.String()))
			if t, ok := r.hosts[h]; ok {
				ro.rt = t
			}
			v, _ = r.routes.LoadOrStore(k, ro)
		}
		ro := v.(route)
		rt, key = ro.rt, ro.key
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, r.explain(req, key, err)
	}
	return resp, nil
}

// explain says how to fix a certificate that could not be verified; other
// errors are returned as they are. Apart from RoundTrip, so that a request
// that succeeds pays for no error variable on the heap.
func (r *hostRouter) explain(req *http.Request, key string, err error) error {
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		if key == "" {
			key = req.URL.Host
		}
		var he x509.HostnameError
		if errors.As(err, &he) {
			return fmt.Errorf("%s: %w; the certificate is for another name", req.URL.Host, err)
		}
		return fmt.Errorf("%s: %w; set ca_file in [hosts.%q] if it uses a private certificate authority", req.URL.Host, err, key)
	}
	return err
}

// hostname strips a port from a host key: netrc names hosts without ports.
func hostname(key string) string {
	if h, _, err := net.SplitHostPort(key); err == nil {
		return strings.ToLower(h)
	}
	return strings.ToLower(key)
}

// pool returns the system roots plus the certificates of the PEM file at
// caFile. Without a caFile it returns nil, which crypto/tls reads as the
// system roots, loaded on the first handshake that needs them: loading
// them costs about 15 ms (every file under /etc/ssl/certs is read), which
// a run over plain HTTP, or a run of one small file, should not pay.
func pool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	p, err := x509.SystemCertPool()
	if err != nil {
		p = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", caFile)
	}
	return p, nil
}
