package job

import (
	"fmt"
	"net/http"
	"time"

	"github.com/bulkdl/bulkdl/redact"
	"github.com/bulkdl/bulkdl/segdl"
)

// verboseDoer logs every request and response (redirect hops included,
// since segdl follows them itself) for -v. Only the method, the redacted
// URL and the Range header are shown: never other headers, which may hold
// credentials.
type verboseDoer struct {
	next   segdl.Doer
	log    func(string)
	redact func(string) string // secrets the manifest expanded
}

var _ segdl.Doer = (*verboseDoer)(nil)

func (v *verboseDoer) Do(req *http.Request) (*http.Response, error) {
	u := v.redact(redact.URL(req.URL.String()))
	line := "request: " + req.Method + " " + u
	if rg := req.Header.Get("Range"); rg != "" {
		line += " (Range: " + rg + ")"
	}
	v.log(line)
	start := time.Now()
	resp, err := v.next.Do(req)
	el := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		v.log(fmt.Sprintf("response: %s: %s after %v", u, v.redact(err.Error()), el))
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "":
		loc := resp.Header.Get("Location")
		if next, err := req.URL.Parse(loc); err == nil {
			loc = next.String()
		}
		v.log(fmt.Sprintf("redirect: %s: %s to %s after %v", u, resp.Status, v.redact(redact.URL(loc)), el))
	default:
		line := fmt.Sprintf("response: %s: %s", u, resp.Status)
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			line += " (" + cr + ")"
		} else if resp.ContentLength >= 0 {
			line += fmt.Sprintf(" (%d bytes)", resp.ContentLength)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			line += ", Retry-After " + ra
		}
		v.log(line + fmt.Sprintf(" after %v", el))
	}
	return resp, err
}
