package inputcheck

import "testing"

func TestInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"", -1}, {"Kiruna kyrka", -1}, {"Länsmansbostaden", -1}, {"K\xffruna", 1}, {"ab\xc3", 2}, {"\xe2\x82", 0}} {
		if got := InvalidUTF8([]byte(c.in)); got != c.want {
			t.Errorf("InvalidUTF8(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
