package server

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit bounds each company's writes: a token bucket per company.
type RateLimit struct {
	// PerSecond is the sustained rate of write requests; zero means 50.
	PerSecond float64
	// Burst is how many may come at once; zero means 100.
	Burst int
}

// tenantLimiter hands out one token bucket per company.
type tenantLimiter struct {
	per   rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newTenantLimiter(c RateLimit) *tenantLimiter {
	if c.PerSecond <= 0 {
		c.PerSecond = 50
	}
	if c.Burst <= 0 {
		c.Burst = 100
	}
	return &tenantLimiter{per: rate.Limit(c.PerSecond), burst: c.Burst, m: map[string]*rate.Limiter{}}
}

// allow takes one token of company's bucket, or answers 429 with
// Retry-After and returns false.
func (l *tenantLimiter) allow(w http.ResponseWriter, company string) bool {
	if d := l.take(company); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "too many writes from %s: at most %.0f a second (bursts of %d); retry in %s",
			company, float64(l.per), l.burst, d.Round(time.Millisecond))
		return false
	}
	return true
}

// take takes one token of company's bucket; when there is none it takes
// nothing and returns how long until there is.
func (l *tenantLimiter) take(company string) time.Duration {
	l.mu.Lock()
	lim, ok := l.m[company]
	if !ok {
		lim = rate.NewLimiter(l.per, l.burst)
		l.m[company] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return d
	}
	return 0
}

// AllowWrite takes one write from company's bucket, the one its HTTP
// writes take from (for writes that come by another way: MQTT); when
// refused, retry is how long until the next is allowed.
func (s *Server) AllowWrite(company string) (retry time.Duration, ok bool) {
	d := s.limiter.take(company)
	return d, d == 0
}
