package twin

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Lifespan is the half-open interval [From, To) in which a feature exists.
// A zero To means the feature has no dated end.
type Lifespan struct {
	From time.Time
	To   time.Time
}

// At reports whether the feature exists at instant t.
func (l Lifespan) At(t time.Time) bool {
	return !t.Before(l.From) && (l.To.IsZero() || t.Before(l.To))
}

// Overlaps reports whether l and m share any instant.
func (l Lifespan) Overlaps(m Lifespan) bool {
	lEndsFirst := !l.To.IsZero() && !l.To.After(m.From)
	mEndsFirst := !m.To.IsZero() && !m.To.After(l.From)
	return !lEndsFirst && !mEndsFirst
}

// Meets reports whether l and [from, to) overlap; a zero from or to is open.
func (l Lifespan) Meets(from, to time.Time) bool {
	if !to.IsZero() && !l.From.Before(to) {
		return false
	}
	if !from.IsZero() && !l.To.IsZero() && !l.To.After(from) {
		return false
	}
	return true
}

// DecimalYear turns an instant into a year with a fraction, as tiles carry
// it: 2025-08-20 is 2025.63.
func DecimalYear(t time.Time) float64 {
	t = t.UTC()
	start := time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
	return float64(t.Year()) + float64(t.Sub(start))/float64(end.Sub(start))
}

// FromDecimalYear is the inverse of DecimalYear.
func FromDecimalYear(y float64) time.Time {
	year := math.Floor(y)
	start := time.Date(int(year), 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(int(year)+1, 1, 1, 0, 0, 0, 0, time.UTC)
	return start.Add(time.Duration((y - year) * float64(end.Sub(start))))
}

// ParseInstant reads the forms of time that scene files use: a year
// ("1963"), a month ("2010-06"), a day ("2025-08-20"), an RFC 3339 instant,
// or a decimal year ("2025.63"). All are UTC.
func ParseInstant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	// One layout by the length, so that the common forms (RFC 3339, as
	// every JSON output writes them, and plain dates) are parsed once.
	layout := time.RFC3339Nano
	switch len(s) {
	case 4:
		layout = "2006"
	case 7:
		layout = "2006-01"
	case 10:
		layout = "2006-01-02"
	}
	if t, err := time.Parse(layout, s); err == nil {
		return t.UTC(), nil
	}
	if y, err := strconv.ParseFloat(s, 64); err == nil && y >= 0 && y < 10000 {
		return FromDecimalYear(y), nil
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time (want YYYY, YYYY-MM, YYYY-MM-DD, RFC 3339 or a decimal year)", s)
}
