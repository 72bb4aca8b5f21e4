package server

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// The checks of request bodies that encoding/json does not make.

// errDuplicateName: an object of a body names a member twice.
var errDuplicateName = errors.New("given twice")

// noDuplicateNames checks that no object in the JSON value data names a
// member twice: encoding/json keeps the last silently, so a reading that
// names its sensor twice would be stored under the second. The error names
// the member as a path, e.g. readings[0].sensor. It runs after
// encoding/json has accepted data, so what else it can meet is what
// encoding/json lets through: invalid UTF-8 (which it would replace) and
// unpaired surrogates, refused here too.
func noDuplicateNames(data []byte) error {
	_, err := jsontext.NewDecoder(bytes.NewReader(data)).ReadValue()
	var se *jsontext.SyntacticError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && strings.Contains(se.Err.Error(), "duplicate"):
		return fmt.Errorf("%s: %w", jsonPath(string(se.JSONPointer)), errDuplicateName)
	case errors.As(err, &se):
		return fmt.Errorf("%s: %v (at byte %d)", jsonPath(string(se.JSONPointer)), se.Err, se.ByteOffset)
	}
	return fmt.Errorf("body: %v", err)
}

// jsonPath writes a JSON Pointer (RFC 6901) as the paths of this API's
// errors: /readings/0/sensor → readings[0].sensor.
func jsonPath(ptr string) string {
	if ptr == "" {
		return "body"
	}
	var b strings.Builder
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// requireJSON answers 415 unless the request says its body is JSON
// (application/json, with any parameters such as charset=utf-8).
func requireJSON(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type %q: send application/json", ct)
		return false
	}
	return true
}
