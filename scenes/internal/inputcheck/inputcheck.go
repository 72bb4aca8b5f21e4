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

// Unprintable returns the first rune of s that has no place in an id or a
// property's name — a control character (C0, DEL, C1: NUL among them) or
// a bidirectional formatting character, which makes text read in another
// order than it is stored (U+061C, U+200E, U+200F, U+202A–U+202E,
// U+2066–U+2069) — and its byte offset; ok is false when there is none.
func Unprintable(s string) (r rune, at int, ok bool) {
	for i, c := range s {
		switch {
		case c < 0x20, c >= 0x7f && c <= 0x9f,
			c == 0x061c, c == 0x200e, c == 0x200f,
			c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069:
			return c, i, true
		}
	}
	return 0, 0, false
}
