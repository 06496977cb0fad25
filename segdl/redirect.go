package segdl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/bulkdl/bulkdl/redact"
)

// credentialNames are headers that carry credentials whatever their
// value; credentialParts mark a name as one when it contains them.
var (
	credentialNames = map[string]bool{
		"authorization": true, "proxy-authorization": true, "cookie": true,
		"private-token": true, "job-token": true, "deploy-token": true,
		"x-api-key": true, "x-auth-token": true, "x-access-token": true,
		"x-jfrog-art-api": true, "x-vault-token": true, "x-amz-security-token": true,
	}
	credentialParts = []string{"auth", "token", "secret", "password", "passwd", "api-key", "apikey", "cookie", "session", "credential", "signature"}
)

// CredentialHeader reports whether a header named name carries a
// credential whatever its value: Authorization, Proxy-Authorization,
// Cookie, PRIVATE-TOKEN, JOB-TOKEN, DEPLOY-TOKEN, X-API-Key, X-Auth-Token,
// X-Access-Token, X-JFrog-Art-Api, X-Vault-Token, X-Amz-Security-Token,
// any name that contains auth, token, secret, password, passwd, api-key,
// apikey, cookie, session, credential or signature, and any name that
// ends in key (Ocp-Apim-Subscription-Key), in any case.
func CredentialHeader(name string) bool {
	n := strings.ToLower(name)
	if credentialNames[n] || strings.HasSuffix(n, "key") {
		return true
	}
	for _, p := range credentialParts {
		if strings.Contains(n, p) {
			return true
		}
	}
	return false
}

// do sends a GET for tg with the headers of c, following redirects
// itself. Every hop's headers come from headersFor, the one place that
// decides what a host may see, and every hop is charged to its host
// through slot. It returns the final response and its host:port.
func (d *Download) do(ctx context.Context, t *Task, tg target, c *conditions) (*http.Response, string, error) {
	slot := t.slot
	u, hostport, base := tg.u, tg.hostport, tg.header
	if u == nil {
		return nil, "", &fatalError{fmt.Errorf("bad url %q", redact.URL(tg.raw))}
	}
	var chain []string       // for messages; built at the first redirect,
	var seen map[string]bool // so that a plain request pays for neither
	for hop := 0; ; hop++ {
		var h http.Header
		if base != nil {
			h = c.header(base)
		} else {
			h = d.requestHeader(u, hostport, c)
		}
		req := newRequest(ctx, u, h)
		if slot != nil {
			// Waiting for room at the host is no stall: nothing has been
			// sent yet. A redirect to a busy host (a CDN the run's other
			// files fill) may wait longer than the stall timeout.
			t.stall.pause()
			err := slot.Send(ctx, hostport)
			t.stall.resume()
			if err != nil {
				return nil, "", err
			}
		}
		d.requests.Add(1)
		resp, err := d.cfg.Client.Do(req)
		if err != nil {
			// net/http names the URL in its errors with the password
			// removed but the query kept: signed URLs' tokens stay out.
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = redact.URL(ue.URL)
			}
			return nil, "", err
		}
		if code := resp.StatusCode; (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && d.cfg.OnThrottle != nil {
			// Before Answered gives the refused room back: a scheduler
			// that holds the host for Retry-After holds it from now.
			d.cfg.OnThrottle(hostport, retryAfter(resp.Header.Get("Retry-After"), d.clock.now(), d.cfg.MaxRetryAfter))
		}
		if slot != nil {
			slot.Answered(resp.StatusCode)
		}
		switch resp.StatusCode {
		case 301, 302, 303, 307, 308:
		default:
			if hop > 0 {
				d.mu.Lock()
				if t.gen == d.gen {
					d.setResolvedLocked(t.src, u.String())
				}
				d.mu.Unlock()
			}
			return resp, hostport, nil
		}
		loc := resp.Header.Get("Location")
		io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		if chain == nil {
			chain = []string{redact.URL(u.String())}
			seen = map[string]bool{u.String(): true}
		}
		if loc == "" {
			return nil, "", &fatalError{fmt.Errorf("%w: %d without Location after %s", ErrRedirect, resp.StatusCode, strings.Join(chain, " -> "))}
		}
		next, err := u.Parse(loc)
		if err != nil {
			return nil, "", &fatalError{fmt.Errorf("%w: bad Location %s after %s", ErrRedirect, redact.URL(loc), strings.Join(chain, " -> "))}
		}
		chain = append(chain, redact.URL(next.String()))
		switch {
		case next.Scheme != "http" && next.Scheme != "https":
			return nil, "", &fatalError{fmt.Errorf("%w: to a %s URL: %s", ErrRedirect, next.Scheme, strings.Join(chain, " -> "))}
		case u.Scheme == "https" && next.Scheme == "http":
			return nil, "", &fatalError{fmt.Errorf("%w: from https to http refused: %s", ErrRedirect, strings.Join(chain, " -> "))}
		case seen[next.String()]:
			return nil, "", &fatalError{fmt.Errorf("%w: loop: %s", ErrRedirect, strings.Join(chain, " -> "))}
		case hop+1 > maxRedirects:
			return nil, "", &fatalError{fmt.Errorf("%w: more than %d redirects: %s", ErrRedirect, maxRedirects, strings.Join(chain, " -> "))}
		}
		seen[next.String()] = true
		u, hostport, base = next, hostPort(next), nil // headers for its origin
	}
}

const maxRedirects = 10

// headersFor returns the configured headers that a request to u may carry:
// the global ones (credentials only to the file's listed origins), the
// ones configured for u's host, and the file's own if u is one of its
// listed origins. It is computed for every hop's URL (once per download
// for the Spec's URLs), so no header survives a redirect to an origin that
// may not see it.
func (d *Download) headersFor(u *url.URL, hp string, extra int) http.Header {
	listed := false
	// By index, reading only fields fixed at New: headersFor runs without
	// d.mu (for every redirect hop) while a first request may be filling
	// another target's cached header under it.
	for i := range d.targets {
		if lt := &d.targets[i]; lt.u != nil && lt.u.Scheme == u.Scheme && lt.hostport == hp {
			listed = true
			break
		}
	}
	var host http.Header
	if d.cfg.HostHeader != nil {
		host = d.cfg.HostHeader(hp)
	}
	// Sized for all it may hold and extra more: one allocation.
	h := make(http.Header, len(d.cfg.Header)+len(d.cfg.Credentials)+len(host)+len(d.spec.Header)+1+extra)
	for k, v := range d.cfg.Header {
		if CredentialHeader(k) && !listed {
			continue
		}
		h[k] = v
	}
	if listed {
		for k, v := range d.cfg.Credentials {
			h[k] = v
		}
	}
	for k, v := range host {
		h[k] = v
	}
	if listed {
		for k, v := range d.spec.Header {
			h[k] = v
		}
		// Credentials from outside the manifest never replace the URL's
		// own userinfo (net/http sends it only when no Authorization
		// header is set) nor an Authorization configured.
		if d.cfg.Authorization != nil && h.Get("Authorization") == "" && u.User == nil {
			if a := d.cfg.Authorization(hp); a != "" {
				h.Set("Authorization", a)
			}
		}
	}
	return h
}

// HostPort returns the "host:port" of rawurl as segdl and schedulers key
// hosts: lower case, with the scheme's default port made explicit; "" if
// rawurl does not parse.
func HostPort(rawurl string) string {
	u, err := url.Parse(rawurl)
	if err != nil {
		return ""
	}
	return hostPort(u)
}

// hostPort returns u's host with an explicit port, lower case.
func hostPort(u *url.URL) string {
	port := u.Port()
	if host := u.Hostname(); port != "" && isJoined(u.Host, host, port) && isLower(host) {
		return u.Host // already host:port, lower case: no new string
	}
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// isJoined reports whether s is net.JoinHostPort(host, port), without
// building that string.
func isJoined(s, host, port string) bool {
	if strings.IndexByte(host, ':') >= 0 {
		return len(s) == len(host)+len(port)+3 && s[0] == '[' && s[1:1+len(host)] == host &&
			s[1+len(host):3+len(host)] == "]:" && s[3+len(host):] == port
	}
	return len(s) == len(host)+len(port)+1 && s[:len(host)] == host && s[len(host)] == ':' && s[len(host)+1:] == port
}

// isLower reports whether strings.ToLower(s) is s because s is ASCII
// without an upper-case letter (other text takes the slow way).
func isLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return false
		}
	}
	return true
}
