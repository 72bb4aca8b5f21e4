// Package inputcheck holds the cheap checks that every importer runs on
// outside bytes before a decoder sees them.
package inputcheck

import "unicode/utf8"

// InvalidUTF8 returns the offset of the first byte of data that is not
// valid UTF-8, or -1 when all of it is.
func InvalidUTF8(data []byte) int {
	if utf8.Valid(data) {
		return -1
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}
