package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// DecodeJSON decodes body as exactly one JSON value. Numbers become
// float64, as transforms expect; Intercom sends its large ids as strings, so
// they keep every digit. An object with a repeated key is refused.
func DecodeJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("invalid JSON: empty body")
	}
	// Unmarshal rather than a Decoder: it works on the bytes in place (the
	// Decoder copies them into its own buffer first), which made decoding a
	// notification markedly cheaper, and it rejects data after the value.
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if key, dup := duplicateKey(body); dup {
		return nil, errDuplicateKey(key)
	}
	return v, nil
}
