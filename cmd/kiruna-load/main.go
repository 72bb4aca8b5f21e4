// Command kiruna-load is the load benchmark of the live path, a dev-only
// tool: it starts a twin server in a child process on loopback, registers
// sensors over HTTP, opens thousands of WebSocket clients with random
// viewports, ingests readings over HTTP at a fixed rate, and measures what
// the clients receive — updates per second, latency from the POST to the
// client, the server's CPU and memory — then checks that every client
// holds the latest value of every sensor in its view. With --mode both it
// runs the batched hub and then the naive design (one frame per update per
// client) with the same load, one after the other.
//
// A command rather than a Go benchmark: it needs two processes (the
// server's CPU and memory must be measured apart from the clients'), a
// raised open-files limit, and a fixed wall-clock duration rather than b.N.
//
//	go run ./cmd/kiruna-load --clients 10000 --rate 2000 --duration 30s --mode both
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
	"github.com/spf13/pflag"
)

// The area the viewports and sensors fall in: the town's extent, for the
// benchmark only (the server knows nothing of it here).
var area = orb.Bound{Min: orb.Point{20.15, 67.81}, Max: orb.Point{20.36, 67.88}}

type config struct {
	role     string
	mode     string
	clients  int
	sensors  int
	rate     int
	batch    int
	posters  int
	warmup   time.Duration
	duration time.Duration
	tick     time.Duration
	data     string
	minViewM float64
	maxViewM float64
	cpuprof  string
	loadprof string
	// the floor (floor.go)
	frameBytes int
	// the poster (poster.go)
	base   string
	maxSeq int
	epoch  int64
}

func main() {
	var c config
	fl := pflag.NewFlagSet("kiruna-load", pflag.ExitOnError)
	fl.StringVar(&c.role, "role", "load", "internal: load, server, poster or floor")
	fl.StringVar(&c.base, "base", "", "internal: the server's URL, for the poster")
	fl.IntVar(&c.maxSeq, "max-seq", 0, "internal: the poster's last sequence number")
	fl.Int64Var(&c.epoch, "epoch", 0, "internal: Unix nanoseconds the readings' values count from")
	fl.StringVar(&c.mode, "mode", "both", "hub design: batched, naive or both (batched first); floor: plain TCP only, no twin")
	fl.IntVar(&c.clients, "clients", 10000, "WebSocket clients")
	fl.IntVar(&c.sensors, "sensors", 2000, "sensors, placed at random over the town")
	fl.IntVar(&c.rate, "rate", 2000, "readings per second, over HTTP")
	fl.IntVar(&c.batch, "batch", 20, "readings per POST")
	fl.IntVar(&c.posters, "posters", 16, "concurrent HTTP posters")
	fl.DurationVar(&c.warmup, "warmup", 5*time.Second, "ingest before measuring")
	fl.DurationVar(&c.duration, "duration", 20*time.Second, "measured ingest")
	fl.DurationVar(&c.tick, "tick", 50*time.Millisecond, "the hub's batching tick")
	fl.StringVar(&c.data, "data", "", "internal: the server's data directory")
	fl.Float64Var(&c.minViewM, "view-min", 800, "narrowest viewport, metres east–west")
	fl.Float64Var(&c.maxViewM, "view-max", 4000, "widest viewport, metres east–west (height 9/16 of it)")
	fl.StringVar(&c.cpuprof, "server-cpuprofile", "", "write the server's CPU profile (per mode: FILE.MODE) to FILE")
	fl.StringVar(&c.loadprof, "load-cpuprofile", "", "write the load client's own CPU profile to FILE")
	fl.IntVar(&c.frameBytes, "frame-bytes", 2300, "with --mode floor: bytes per frame (at least 8)")
	_ = fl.Parse(os.Args[1:])
	c.frameBytes = max(c.frameBytes, 8)
	var err error
	switch c.role {
	case "server":
		err = serve(c)
	case "floor":
		err = serveFloor(c)
	case "poster":
		err = runPoster(c)
	default:
		err = load(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiruna-load:", err)
		os.Exit(1)
	}
}

// serve is the child: a twin server with an empty scene, a store in
// --data, on a loopback port it prints; it runs until stdin closes.
func serve(c config) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, closeServer, err := newServer(c, log)
	if err != nil {
		return err
	}
	defer closeServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(c.cpuprof)
	if err != nil {
		return err
	}
	defer stopProfile()
	fmt.Println("addr", ln.Addr().String())
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	return hs.Close()
}

// newServer is the child's twin server on the store in c.data; with
// --mode naive its /ws is the naive hub's (naive.go).
func newServer(c config, log *slog.Logger) (http.Handler, func(), error) {
	model := twin.NewModel()
	tenants, err := live.OpenTenants(c.data)
	if err != nil {
		return nil, nil, err
	}
	srv := server.New(server.Config{Model: model, Logger: log, Tenants: tenants, Hub: server.HubOptions{
		Tick: c.tick, MaxClients: c.clients + 1000},
		RateLimit: server.RateLimit{PerSecond: 1e6, Burst: 1e6}, // the load is one company on purpose
		PerClient: -1})                                          // and every client comes from one loopback address
	store, err := live.OpenStore(filepath.Join(c.data, "live"), model, live.StoreOptions{Logger: log})
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	srv.SetLive(store)
	if c.mode != "naive" {
		return srv, func() { srv.Close(); store.Close() }, nil
	}
	// The twin's hub stays, with no client: each tick it encodes the
	// sensors that changed once (about 100 at 2 000 readings/s), nothing more.
	nh := newNaiveHub(store.Sensors())
	stopListening := store.Listen(nh.onStates)
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.Handle("GET /ws", nh)
	return mux, func() { nh.close(); stopListening(); srv.Close(); store.Close() }, nil
}

type sensor struct {
	id  string
	pos orb.Point
	// the newest acknowledged reading: its time and sequence number
	mu      sync.Mutex
	lastT   int64
	lastVal int64 // its value (see readingValue)
}

type client struct {
	idx    int
	box    orb.Bound
	conn   *wsConn
	mu     sync.Mutex
	inView []int32 // indexes of the sensors in the view, ascending
	values []int64 // their values (sequence numbers), by position in inView
	closed atomic.Bool
	errMsg string
	bad    int // updates for sensors outside the view
}

type run struct {
	c       config
	mode    string
	base    string
	token   string
	sensors []*sensor
	epoch   int64 // Unix nanoseconds the readings' values count their POSTs from

	measuring  atomic.Bool
	updates    atomic.Int64
	frames     atomic.Int64
	hist       [32][]atomic.Int64 // sharded latency histogram, 1 ms buckets
	postHist   []atomic.Int64     // POST round trips in the window, 1 ms buckets
	postErrors atomic.Int64
	posted     atomic.Int64
	postedAt0  int64
	postedAt1  int64
	// what the poster process said of each reading, by sequence number
	seqSensor []int32
	seqT      []int64
	seqVal    []int64
	posterPid int
}

const histMax = 60000 // ms

func load(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	modes := []string{c.mode}
	if c.mode == "both" {
		modes = []string{"batched", "naive"}
	}
	if c.mode != "floor" {
		fmt.Printf("kiruna-load: %d clients, %d sensors, %d readings/s in POSTs of %d, warm-up %s, measured %s, tick %s, GOMAXPROCS %d, %d CPUs\n",
			c.clients, c.sensors, c.rate, c.batch, c.warmup, c.duration, c.tick, runtime.GOMAXPROCS(0), runtime.NumCPU())
	}
	stopProfile, err := startCPUProfile(c.loadprof)
	if err != nil {
		return err
	}
	defer stopProfile()
	if c.mode == "floor" {
		return runFloor(ctx, c)
	}
	var results []result
	for _, m := range modes {
		r, err := runMode(ctx, c, m)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		results = append(results, r)
		r.print()
	}
	if len(results) > 1 {
		fmt.Println()
		fmt.Println("| design | readings/s ingested | delivered updates/s | frames/s | p50 ms | p99 ms | max ms | server CPU (cores) | CPU-µs per update | server RSS MiB (peak) | clients dropped | stale values at the end |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, r := range results {
			fmt.Printf("| %s | %.0f | %.0f | %.0f | %.1f | %.1f | %.0f | %.2f | %.2f | %.0f (%.0f) | %d of %d | %d |\n", r.mode, r.ingestPerSec, r.updatesPerSec, r.framesPerSec,
				r.p50, r.p99, r.max, r.serverCPU, 1e6*r.serverCPU/max(r.updatesPerSec, 1), r.rssMiB, r.hwmMiB, r.dropped, r.clients, r.staleValues)
		}
	}
	// The batched hub must pass its end check: this is what CI runs.
	for _, r := range results {
		if r.mode == "batched" && (r.staleValues > 0 || r.outside > 0 || r.dropped > 0 || r.postErrors > 0) {
			return fmt.Errorf("the batched hub failed its check: %d stale values, %d updates outside a view, %d clients dropped, %d POST errors",
				r.staleValues, r.outside, r.dropped, r.postErrors)
		}
	}
	return nil
}

type result struct {
	mode                        string
	clients, dropped            int
	updatesPerSec, framesPerSec float64
	ingestPerSec                float64
	p50, p99, max               float64
	serverCPU, loadCPU          float64
	posterCPU                   float64 // the posters' own process
	rssMiB, hwmMiB              float64
	staleValues, staleClients   int
	outside                     int
	posted, postErrors          int64
	inView                      float64
	commitMs, perCommit         float64
	otherCPU, load1             float64
	coalesced, droppedUpdates   float64
	postP50, postP99, postMax   float64 // POST round trips, ms
	srvP50, srvP99              float64 // durable → frame written, ms (server's histogram)
}

func (r result) print() {
	fmt.Printf("\n== %s hub\n", r.mode)
	fmt.Printf("readings acknowledged %.0f/s in the measured window; posted %d in all (errors %d); clients %d, dropped %d; mean sensors in a view %.1f\n", r.ingestPerSec, r.posted, r.postErrors, r.clients, r.dropped, r.inView)
	fmt.Printf("delivered %.0f sensor updates/s in %.0f frames/s\n", r.updatesPerSec, r.framesPerSec)
	fmt.Printf("latency POST → client: p50 %.1f ms, p99 %.1f ms, max %.0f ms\n", r.p50, r.p99, r.max)
	fmt.Printf("  the POST's round trip (to its 202): p50 %.1f ms, p99 %.1f ms, max %.0f ms\n", r.postP50, r.postP99, r.postMax)
	fmt.Printf("  the server's part, durable → frame written (its histogram; batched hub only): p50 %.0f ms, p99 %.0f ms\n", r.srvP50, r.srvP99)
	fmt.Printf("server: %.2f cores, RSS %.0f MiB (peak %.0f MiB), %.2f CPU-µs per delivered update; load client %.2f cores, posters %.2f cores\n",
		r.serverCPU, r.rssMiB, r.hwmMiB, 1e6*r.serverCPU/max(r.updatesPerSec, 1), r.loadCPU, r.posterCPU)
	fmt.Printf("machine: other processes used %.2f cores in the window; 1-minute load average at its end %.2f\n", r.otherCPU, r.load1)
	fmt.Printf("store: mean group commit %.2f ms, %.1f batches per fsync; hub: %.0f states coalesced, %.0f dropped with their client\n",
		r.commitMs, r.perCommit, r.coalesced, r.droppedUpdates)
	fmt.Printf("end check: %d values not the latest, in %d clients; %d updates outside a client's view\n", r.staleValues, r.staleClients, r.outside)
}

func runMode(ctx context.Context, c config, mode string) (result, error) {
	r := &run{c: c, mode: mode}
	for i := range r.hist {
		r.hist[i] = make([]atomic.Int64, histMax+1)
	}
	r.postHist = make([]atomic.Int64, histMax+1)
	data, err := os.MkdirTemp("", "kiruna-load-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(data)
	if r.token, err = live.AddTenant(data, "load", time.Now()); err != nil {
		return result{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	args := []string{"--role=server", "--mode=" + mode, "--data=" + data, "--tick=" + c.tick.String(), "--clients=" + strconv.Itoa(c.clients)}
	if c.cpuprof != "" {
		args = append(args, "--server-cpuprofile="+c.cpuprof+"."+mode)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr ") {
		return result{}, fmt.Errorf("the server did not start: %q %v", line, err)
	}
	r.base = "http://" + strings.TrimSpace(strings.TrimPrefix(line, "addr "))
	pid := cmd.Process.Pid

	if err := r.register(ctx); err != nil {
		return result{}, err
	}
	total := int(float64(c.rate)*(c.warmup+c.duration).Seconds()) + 10*c.rate
	if total > maxSeq || time.Duration(maxTime) < c.warmup+c.duration+30*time.Second {
		return result{}, fmt.Errorf("%d readings over %s do not fit a reading's value (at most %d readings in %s)",
			total, c.warmup+c.duration, maxSeq, time.Duration(maxTime)-30*time.Second)
	}
	r.seqSensor, r.seqT, r.seqVal = make([]int32, total), make([]int64, total), make([]int64, total)
	clients, err := r.connect(ctx)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(os.Stderr, "[%s] %d clients subscribed; ingesting\n", mode, len(clients))

	r.epoch = time.Now().UnixNano() // the readings' values count from here
	ingestCtx, stopIngest := context.WithCancel(ctx)
	var wg sync.WaitGroup
	started := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); r.ingest(ingestCtx, exe, started) }()
	if err := <-started; err != nil {
		stopIngest()
		return result{}, err
	}
	select {
	case <-time.After(c.warmup):
	case <-ctx.Done():
	}
	metrics0 := scrape(r.base + "/metrics")
	cpu0, self0, t0, all0 := procCPU(pid), procCPU(os.Getpid()), time.Now(), machineBusy()
	post0 := procCPU(r.posterPid)
	r.postedAt0 = r.posted.Load()
	r.measuring.Store(true)
	select {
	case <-time.After(c.duration):
	case <-ctx.Done():
	}
	r.measuring.Store(false)
	cpu1, self1, t1, all1 := procCPU(pid), procCPU(os.Getpid()), time.Now(), machineBusy()
	post1 := procCPU(r.posterPid)
	r.postedAt1 = r.posted.Load()
	rss, hwm := procMem(pid)
	metrics := scrape(r.base + "/metrics")
	stopIngest()
	wg.Wait()
	time.Sleep(2 * time.Second) // let the last tick's frames arrive

	secs := t1.Sub(t0).Seconds()
	postedInWindow := float64(r.postedAt1 - r.postedAt0)
	res := result{mode: mode, clients: len(clients), posted: r.posted.Load(), postErrors: r.postErrors.Load(),
		updatesPerSec: float64(r.updates.Load()) / secs, ingestPerSec: postedInWindow / secs, framesPerSec: float64(r.frames.Load()) / secs,
		serverCPU: (cpu1 - cpu0) / secs, loadCPU: (self1 - self0) / secs, posterCPU: (post1 - post0) / secs,
		otherCPU: ((all1 - all0) - (cpu1 - cpu0) - (self1 - self0) - (post1 - post0)) / secs, load1: loadAvg(), rssMiB: rss / (1 << 20), hwmMiB: hwm / (1 << 20)}
	res.p50, res.p99, res.max = r.percentiles()
	res.postP50, res.postP99, res.postMax = r.postPercentiles()
	res.srvP50 = histQuantile(metrics0, metrics, "kiruna_ws_update_delay_seconds", 0.50)
	res.srvP99 = histQuantile(metrics0, metrics, "kiruna_ws_update_delay_seconds", 0.99)
	if n := metrics["kiruna_store_commit_seconds_count"]; n > 0 {
		res.commitMs = 1000 * metrics["kiruna_store_commit_seconds_sum"] / n
		res.perCommit = metrics["kiruna_store_commit_records_sum"] / n
	}
	if mode == "batched" { // with --mode naive the twin's hub has no client
		res.coalesced, res.droppedUpdates = metrics["kiruna_ws_coalesced_total"], metrics["kiruna_ws_dropped_updates_total"]
	}
	views := 0
	for _, cl := range clients {
		if cl.closed.Load() {
			if res.dropped < 3 {
				fmt.Fprintf(os.Stderr, "[%s] client %d was disconnected: %s\n", mode, cl.idx, cl.errMsg)
			}
			res.dropped++
			continue
		}
		cl.mu.Lock()
		stale := 0
		for k, i := range cl.inView {
			s := r.sensors[i]
			views++
			s.mu.Lock()
			want := s.lastVal
			s.mu.Unlock()
			if want > 0 && cl.values[k] != want {
				stale++
			}
		}
		res.outside += cl.bad
		cl.mu.Unlock()
		res.staleValues += stale
		if stale > 0 {
			res.staleClients++
		}
		_ = cl.conn.Close()
	}
	if n := len(clients) - res.dropped; n > 0 {
		res.inView = float64(views) / float64(n)
	}
	return res, nil
}

func (r *run) register(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(1, 2))
	r.sensors = make([]*sensor, r.c.sensors)
	for i := range r.sensors {
		p := orb.Point{area.Min[0] + rng.Float64()*(area.Max[0]-area.Min[0]), area.Min[1] + rng.Float64()*(area.Max[1]-area.Min[1])}
		r.sensors[i] = &sensor{id: fmt.Sprintf("L%05d", i), pos: p}
	}
	var next atomic.Int64
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(r.sensors) || ctx.Err() != nil {
					return
				}
				s := r.sensors[i]
				body := fmt.Sprintf(`{"id":%q,"type":"load_counter","unit":"n","lon":%v,"lat":%v}`, s.id, s.pos[0], s.pos[1])
				code, msg, err := r.post("/api/sensors", body)
				if err != nil || code != http.StatusCreated {
					errs <- fmt.Errorf("registering %s: %d %s %v", s.id, code, msg, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (r *run) post(path, body string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg), nil
}

// connect opens the clients, each with a random viewport, and waits for
// every snapshot.
func (r *run) connect(ctx context.Context) ([]*client, error) {
	rng := rand.New(rand.NewPCG(3, 4))
	clients := make([]*client, r.c.clients)
	midLat := (area.Min[1] + area.Max[1]) / 2
	for i := range clients {
		wm := r.c.minViewM + rng.Float64()*(r.c.maxViewM-r.c.minViewM)
		hm := wm * 9 / 16
		dLon := wm / (111320 * math.Cos(midLat*math.Pi/180))
		dLat := hm / 111320
		cx := area.Min[0] + rng.Float64()*(area.Max[0]-area.Min[0])
		cy := area.Min[1] + rng.Float64()*(area.Max[1]-area.Min[1])
		clients[i] = &client{idx: i, box: orb.Bound{Min: orb.Point{cx - dLon/2, cy - dLat/2}, Max: orb.Point{cx + dLon/2, cy + dLat/2}}}
		for j, s := range r.sensors {
			if clients[i].box.Contains(s.pos) {
				clients[i].inView = append(clients[i].inView, int32(j))
			}
		}
		clients[i].values = make([]int64, len(clients[i].inView))
	}
	addr := strings.TrimPrefix(r.base, "http://")
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(clients) || ctx.Err() != nil {
					return
				}
				cl := clients[i]
				conn, err := dialWS(ctx, addr, "/ws")
				if err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
					return
				}
				cl.conn = conn
				msg := server.AppendWSClientMessage(nil, server.WSClientMessage{Type: server.WSSubscribe, BBox: cl.box})
				if err := conn.writeFrame(0x1, msg); err != nil {
					errs <- err
					return
				}
				data, err := conn.next()
				if err != nil || !bytes.HasPrefix(data, snapshotPrefix) {
					errs <- fmt.Errorf("client %d: no snapshot: %v %.80s", i, err, data)
					return
				}
				r.apply(cl, data, false)
				go r.read(cl)
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return clients, nil
}

func (r *run) read(cl *client) {
	for {
		data, err := cl.conn.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				cl.errMsg = err.Error()
				cl.closed.Store(true)
			}
			return
		}
		r.apply(cl, data, true)
	}
}

var (
	snapshotPrefix = []byte(`{"type":"` + server.WSSnapshot + `"`)
	keyID          = []byte(`"id":"L`)
	keyValue       = []byte(`"value":`)
)

// apply reads the sensors of a frame with a minimal scanner (the server's
// own field order), records their values and, for updates, the latency.
func (r *run) apply(cl *client, data []byte, update bool) {
	now := time.Now().UnixNano()
	measuring := update && r.measuring.Load()
	n := 0
	shard := r.hist[cl.idx%len(r.hist)]
	cl.mu.Lock()
	for {
		i := bytes.Index(data, keyID)
		if i < 0 {
			break
		}
		data = data[i+len(keyID):]
		j := bytes.IndexByte(data, '"')
		idx := atoiBytes(data[:j])
		k := bytes.Index(data, keyValue)
		data = data[k+len(keyValue):]
		e := bytes.IndexAny(data, ",}")
		if data[0] == 'n' { // null: no reading yet
			continue
		}
		v := int64(atoiBytes(data[:e]))
		if at, ok := slices.BinarySearch(cl.inView, int32(idx)); ok {
			cl.values[at] = v
		} else {
			cl.bad++
		}
		if measuring && v > 0 {
			ms := (now - r.sentAt(v)) / 1e6
			shard[min(max(ms, 0), histMax)].Add(1)
		}
		n++
	}
	cl.mu.Unlock()
	if measuring {
		r.updates.Add(int64(n))
		r.frames.Add(1)
	}
}

// atoiBytes reads a non-negative decimal integer (the server wrote it).
func atoiBytes(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func (r *run) percentiles() (p50, p99, maxMs float64) {
	counts := make([]int64, histMax+1)
	for _, sh := range r.hist {
		for i := range sh {
			counts[i] += sh[i].Load()
		}
	}
	return quantiles(counts)
}

func (r *run) postPercentiles() (p50, p99, maxMs float64) {
	counts := make([]int64, histMax+1)
	for i := range r.postHist {
		counts[i] = r.postHist[i].Load()
	}
	return quantiles(counts)
}

// quantiles reads the median, 99th percentile and maximum off a histogram
// of 1 ms buckets (a bucket's middle stands for its values).
func quantiles(counts []int64) (p50, p99, maxMs float64) {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, 0, 0
	}
	at := func(q float64) float64 {
		want := int64(math.Ceil(q * float64(total)))
		var acc int64
		for i, c := range counts {
			acc += c
			if acc >= want {
				return float64(i) + 0.5
			}
		}
		return histMax
	}
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] > 0 {
			maxMs = float64(i) + 1
			break
		}
	}
	return at(0.50), at(0.99), maxMs
}

// histQuantile estimates quantile q, in milliseconds, of the Prometheus
// histogram name between two scrapes, interpolating inside a bucket as
// Prometheus's histogram_quantile does.
func histQuantile(m0, m1 map[string]float64, name string, q float64) float64 {
	type bucket struct{ le, n float64 }
	var bs []bucket
	for k, v := range m1 {
		rest, ok := strings.CutPrefix(k, name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{le, v - m0[k]})
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	if len(bs) == 0 || bs[len(bs)-1].n == 0 {
		return 0
	}
	want := q * bs[len(bs)-1].n
	lo, below := 0.0, 0.0
	for _, b := range bs {
		if b.n >= want {
			if math.IsInf(b.le, 1) {
				return 1000 * lo
			}
			return 1000 * (lo + (b.le-lo)*(want-below)/max(b.n-below, 1))
		}
		lo, below = b.le, b.n
	}
	return 1000 * lo
}

// startCPUProfile profiles this process into path until stop is called;
// with no path it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// procCPU is the user+system CPU seconds of a process.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// procMem is the resident and peak resident set of a process, in bytes.
func procMem(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = v * 1024
		case "VmHWM:":
			hwm = v * 1024
		}
	}
	return rss, hwm
}

// scrape reads the unlabelled samples of a Prometheus text page.
func scrape(u string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get(u)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			v, err := strconv.ParseFloat(f[1], 64)
			if err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

// machineBusy is the CPU seconds all processes have used (non-idle time in /proc/stat).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)[1:]
	busy := 0.0
	for i, x := range f {
		v, _ := strconv.ParseFloat(x, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, not iowait; no guest (counted in user)
			busy += v
		}
	}
	return busy / 100
}

func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	v, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return v
}
