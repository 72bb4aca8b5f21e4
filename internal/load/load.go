// Package load is a small closed-loop HTTP load generator for the tile
// benchmarks: a fixed number of keep-alive connections, each sending the
// next URL of a list as soon as the previous answer has been read.
package load

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Result sums up a run.
type Result struct {
	Requests int
	Errors   int // transport errors and statuses other than 200, 204 and 304
	Bytes    int64
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond is the rate of answered requests.
func (r Result) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%d requests in %v: %.0f/s, p50 %v, p99 %v, %d errors, %.1f MB",
		r.Requests, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.P50, r.P99, r.Errors, float64(r.Bytes)/1e6)
}

// Run sends GET requests for base+paths[i], cycling through paths, over
// conns connections for d, with the given request headers.
func Run(ctx context.Context, base string, paths []string, conns int, d time.Duration, header http.Header) Result {
	tr := &http.Transport{
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true, // send Accept-Encoding ourselves; do not gunzip
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var total Result
	var lats []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res Result
			lat := make([]time.Duration, 0, 1<<16)
			buf := make([]byte, 64<<10)
			for i := w * len(paths) / conns; ctx.Err() == nil; i++ {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+paths[i%len(paths)], nil)
				if err != nil {
					res.Errors++
					continue
				}
				for k, v := range header {
					req.Header[k] = v
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						res.Errors++
					}
					continue
				}
				n, _ := io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
				if ctx.Err() != nil {
					break
				}
				lat = append(lat, time.Since(t0))
				res.Requests++
				res.Bytes += n
				switch resp.StatusCode {
				case http.StatusOK, http.StatusNoContent, http.StatusNotModified:
				default:
					res.Errors++
				}
			}
			mu.Lock()
			total.Requests += res.Requests
			total.Errors += res.Errors
			total.Bytes += res.Bytes
			lats = append(lats, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	if len(lats) > 0 {
		slices.Sort(lats)
		total.P50 = lats[len(lats)/2]
		total.P99 = lats[min(len(lats)-1, len(lats)*99/100)]
	}
	return total
}
