package intake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrTooLarge is returned by ReadBody for a body over the limit.
var ErrTooLarge = errors.New("request body too large")

// ReadBody reads r's body, at most limit bytes. A body over the limit (by
// Content-Length, or found while reading) fails with ErrTooLarge without
// reading more than limit+1 bytes; the server then closes the connection.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, r.ContentLength, limit)
	}
	if r.ContentLength > 0 {
		// The server ends the body at its Content-Length, so it is read
		// into one exact buffer: a bytes.Buffer wants room to spare and
		// grew (a second allocation and a copy) once the body filled it.
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		return body, nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: limit %d bytes", ErrTooLarge, limit)
	case err != nil && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	return buf.Bytes(), nil
}
