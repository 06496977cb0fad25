package segdltest

import (
	"io"
	"net/http"
	"sync"
)

// CountingTransport wraps rt and counts requests in flight on the client
// side: from the moment a request is sent until its response body is
// closed (or the request fails). A server learns that a client abandoned a
// response only a moment after the client has closed it, so the client's
// count is the exact measure of a budget of requests in flight.
type CountingTransport struct {
	RT    http.RoundTripper
	Gauge Gauge
}

// RoundTrip implements http.RoundTripper.
func (c *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.Gauge.enter()
	resp, err := c.RT.RoundTrip(r)
	if err != nil {
		c.Gauge.leave()
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, leave: sync.OnceFunc(c.Gauge.leave)}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	leave func()
}

func (b *countedBody) Close() error {
	b.leave()
	return b.ReadCloser.Close()
}
