package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The posters run in a process of their own (--role=poster), so that the
// POSTs' round trips are not slowed by the thousands of WebSocket readers
// of the load process, nor those readers by the posters. The poster
// process tells the load process, one line each on its standard output,
// what it posts and what was acknowledged:
//
//	s SEQ SENSOR T VALUE  a reading: its sequence number, the sensor's
//	                      index, its time (Unix nanoseconds) and its value
//	                      (see readingValue), before the POST is sent
//	a SEQ N RT            the POST of the N readings from SEQ answered 202
//	                      after RT nanoseconds
//	e SEQ N MESSAGE       it failed
//
// A reading's value carries its sequence number and the moment its POST
// was sent, so that a client's latency needs nothing from these lines.
// Both processes read the same wall clock.

// A value is 17 bits of sequence number under 22 bits of time in units
// of 100 µs: below 2^39, inside what the load_counter sensor type takes
// (±10^12), and exact in JSON and in the server's float64.
const (
	seqBits  = 17
	maxSeq   = 1<<seqBits - 1
	timeUnit = 100_000 // ns
	maxTime  = (1<<22 - 1) * timeUnit
)

// readingValue is a reading's value: the time from epoch to its POST, then
// its sequence number.
func readingValue(seq, sentNs, epoch int64) int64 {
	return (sentNs-epoch)/timeUnit<<seqBits | seq
}

// sentAt is when the POST of the reading of value v was sent, Unix
// nanoseconds.
func (r *run) sentAt(v int64) int64 { return r.epoch + (v>>seqBits)*timeUnit }

// posterToken carries the company's token to the poster process.
const posterToken = "KIRUNA_LOAD_TOKEN"

// ingest runs the poster process until ctx ends and applies what it
// reports; started receives nil once it runs, or why it did not.
func (r *run) ingest(ctx context.Context, exe string, started chan<- error) {
	cmd := exec.Command(exe, "--role=poster", "--base="+r.base, "--rate="+strconv.Itoa(r.c.rate),
		"--batch="+strconv.Itoa(r.c.batch), "--posters="+strconv.Itoa(r.c.posters),
		"--sensors="+strconv.Itoa(len(r.sensors)), "--max-seq="+strconv.Itoa(len(r.seqT)-1),
		"--epoch="+strconv.FormatInt(r.epoch, 10))
	cmd.Env = append(os.Environ(), posterToken+"="+r.token)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		started <- fmt.Errorf("starting the posters: %w", err)
		return
	}
	r.posterPid = cmd.Process.Pid
	started <- nil
	go func() { <-ctx.Done(); stdin.Close() }()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		r.report(sc.Bytes())
	}
	_ = cmd.Wait()
}

// report applies one line of the poster process.
func (r *run) report(line []byte) {
	f := bytes.Fields(line)
	if len(f) < 3 {
		return
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(string(f[i]), 10, 64); return v }
	switch string(f[0]) {
	case "s":
		if len(f) < 5 {
			return
		}
		seq := n(1)
		if seq <= 0 || int(seq) >= len(r.seqT) {
			return
		}
		r.seqSensor[seq], r.seqT[seq], r.seqVal[seq] = int32(n(2)), n(3), n(4)
	case "a":
		seq, k := n(1), n(2)
		if r.measuring.Load() && len(f) > 3 {
			r.postHist[min(n(3)/1e6, histMax)].Add(1)
		}
		for q := seq; q < seq+k && int(q) < len(r.seqT); q++ {
			s := r.sensors[r.seqSensor[q]]
			s.mu.Lock()
			if t := r.seqT[q]; t > s.lastT {
				s.lastT, s.lastVal = t, r.seqVal[q]
			}
			s.mu.Unlock()
		}
		r.posted.Add(k)
	case "e":
		if r.postErrors.Add(1) < 5 {
			fmt.Fprintf(os.Stderr, "POST /api/readings: %s\n", bytes.Join(f[3:], []byte(" ")))
		}
	}
}

// runPoster is the poster process: it posts readings at the configured
// rate, each a fresh sequence number as its value, until its standard
// input closes.
func runPoster(c config) error {
	token := os.Getenv(posterToken)
	perSec := float64(c.rate) / float64(c.batch)
	interval := time.Duration(float64(time.Second) / perSec)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	var omu sync.Mutex
	say := func(b []byte) {
		omu.Lock()
		_, _ = out.Write(b)
		_ = out.Flush()
		omu.Unlock()
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); stop() }()
	var seq atomic.Int64
	jobs := make(chan struct{}, c.posters*4)
	var wg sync.WaitGroup
	for w := 0; w < c.posters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			var body, lines bytes.Buffer
			for range jobs {
				first := seq.Add(int64(c.batch)) - int64(c.batch) + 1
				if first+int64(c.batch)-1 > int64(c.maxSeq) {
					return
				}
				body.Reset()
				lines.Reset()
				body.WriteString(`{"readings":[`)
				now := time.Now()
				for i := 0; i < c.batch; i++ {
					idx := rng.IntN(c.sensors)
					t := now.Add(time.Duration(i))
					if i > 0 {
						body.WriteByte(',')
					}
					v := readingValue(first+int64(i), now.UnixNano(), c.epoch)
					fmt.Fprintf(&body, `{"sensor":"L%05d","time":%q,"value":%d}`, idx, t.UTC().Format(time.RFC3339Nano), v)
					fmt.Fprintf(&lines, "s %d %d %d %d\n", first+int64(i), idx, t.UnixNano(), v)
				}
				body.WriteString(`]}`)
				say(lines.Bytes())
				sentAt := time.Now()
				req, _ := http.NewRequest(http.MethodPost, c.base+"/api/readings", bytes.NewReader(body.Bytes()))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					say(fmt.Appendf(nil, "e %d %d %s\n", first, c.batch, strings.ReplaceAll(err.Error(), "\n", " ")))
					continue
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				rt := time.Since(sentAt)
				if resp.StatusCode != http.StatusAccepted {
					say(fmt.Appendf(nil, "e %d %d %d %s\n", first, c.batch, resp.StatusCode, strings.ReplaceAll(string(msg), "\n", " ")))
					continue
				}
				say(fmt.Appendf(nil, "a %d %d %d\n", first, c.batch, rt.Nanoseconds()))
			}
		}()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			select {
			case jobs <- struct{}{}:
			default: // posters saturated: the offered rate is not met
			}
		}
	}
	close(jobs)
	wg.Wait()
	return nil
}
