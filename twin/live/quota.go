package live

import (
	"errors"
	"fmt"
)

// The quotas of one company: how many sensors and pilots it keeps, and how
// many vertices its pilots hold in all. They bound what one company can
// make every replica hold in memory and draw in every tile.

// ErrQuota: a write would take a company over one of its quotas.
var ErrQuota = errors.New("over the company's quota")

// QuotaError says which quota a write would pass.
type QuotaError struct {
	What  string // "sensors", "pilots" or "vertices"
	Limit int
	Have  int // what the company holds now
	Want  int // what it would hold after the write
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%v: a company keeps at most %d %s (it has %d; this would make %d)", ErrQuota, e.Limit, e.What, e.Have, e.Want)
}

func (e *QuotaError) Unwrap() error { return ErrQuota }

// PilotQuota bounds the pilots of one company; zero fields mean no bound.
type PilotQuota struct {
	Pilots   int // pilots
	Vertices int // vertices in all its pilots
}
