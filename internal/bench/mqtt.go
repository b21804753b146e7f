package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/seed178a96f3/rechist"
	"github.com/seed178a96f3/rechist/rechistmqtt"
	"github.com/seed178a96f3/rechist/rechistmqtt/mqtttest"
)

// The MQTT recorder's targets (issue 25), against a mosquitto the step
// starts on a loopback port (max_inflight_messages 1000,
// max_queued_messages unlimited, as docs/mqtt.md advises):
//   - sustained QoS 1 ingest from 8 publishers into a Recorder at
//     SyncNormal, against StoreMany of the same rows (names, values,
//     times) at SyncNormal into a fresh file in the same run (target: >=
//     0.5x and >= 10,000 messages/s). SyncNormal measures the
//     recorder against StoreMany at the same level; its delivery
//     guarantee needs SyncFull, which rechist record uses (a power loss at
//     SyncNormal can take rows whose messages the broker has forgotten);
//   - from a message published to its row visible to another reader (a
//     second DB handle following Changes, as serve's stream does), with
//     the recorder at rechist record's SyncFull: p99 (target <= 100 ms);
//   - with --for of a minute or more (mqttSustainedMin), instead of the
//     ingest of a fixed count: QoS 1 from the 8 publishers for that long
//     into a Recorder at SyncNormal, the process's RSS and Go heap sampled
//     every 10 s; messages/s and memory in the first minute against the
//     last (target: memory flat over 10 minutes), see mqttSustained.

// mqttPublishers is the number of publishing clients.
const mqttPublishers = 8

// mqttCeilingRate is mqttCeiling's figure, for mqttIngest's table line.
var mqttCeilingRate float64

func (r *runner) mqttScenarios(ctx context.Context) error {
	bin := mqtttest.Find()
	if bin == "" {
		r.progress("mqtt: skipped: mosquitto is not installed")
		r.t.add("mqtt: skipped", "", "", "", "mosquitto is not installed (apt-get install mosquitto)")
		return nil
	}
	dir := r.path("mqtt")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	broker, err := mqtttest.StartBroker(bin, dir, mqtttest.Config{MaxInflight: 1000})
	if err != nil {
		return err
	}
	defer broker.Close()
	n := 100_000
	if r.cfg.BaseRows < 1_000_000 {
		n = 40_000
	}
	if err := r.mqttCeiling(ctx, broker, n); err != nil {
		return err
	}
	if r.cfg.StoreFor >= mqttSustainedMin {
		if err := r.mqttSustained(ctx, broker, r.cfg.StoreFor); err != nil {
			return err
		}
	} else if err := r.mqttIngest(ctx, broker, n); err != nil {
		return err
	}
	if err := r.mqttLatency(ctx, broker, 300); err != nil {
		return err
	}
	return broker.Close()
}

// mqttIngest times n messages from 8 publishers through a Recorder, and
// StoreMany of the same rows.
func (r *runner) mqttIngest(ctx context.Context, broker *mqtttest.Broker, n int) error {
	r.progress("mqtt: %d QoS 1 messages from %d publishers through the recorder, SyncNormal", n, mqttPublishers)
	br, err := startRecorder(ctx, broker, r.path("mqtt-ingest.db"), "bench/#", "bench-ingest", rechist.WithSynchronous(rechist.SyncNormal))
	if err != nil {
		return err
	}
	defer br.db.Close()
	defer br.cancel()
	db, rec := br.db, br.rec
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	per := n / mqttPublishers
	if err := publishAll(ctx, broker.Addr(), "bench", per); err != nil {
		return err
	}
	published := time.Since(start)
	total := int64(per * mqttPublishers)
	if err := waitUntil(ctx, 5*time.Minute, func() bool { return rec.Stats().Rows >= total }); err != nil {
		return fmt.Errorf("mqtt: %d of %d rows stored: %w", rec.Stats().Rows, total, err)
	}
	took := time.Since(start)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	if err := br.stop(); err != nil {
		return err
	}
	st := db.Stats()
	if err := db.Close(); err != nil {
		return err
	}

	// The baseline: the same rows, from the file the recorder wrote, stored
	// with one StoreMany into a fresh file.
	rows, err := mqttRows(ctx, r.path("mqtt-ingest.db"))
	if err != nil {
		return err
	}
	r.progress("mqtt: StoreMany of the same %d rows, SyncNormal", len(rows))
	var best time.Duration
	for i := range 3 {
		d, err := timeStoreManyRaw(ctx, r.path(fmt.Sprintf("mqtt-base-%d.db", i)), rows)
		if err != nil {
			return err
		}
		best = minPositive(best, d)
	}
	ours := float64(total) / took.Seconds()
	base := float64(len(rows)) / best.Seconds()
	r.t.add(fmt.Sprintf("mqtt: %d QoS 1 msgs, %d publishers -> recorder, SyncNormal vs StoreMany", total, mqttPublishers),
		fmt.Sprintf("%.0f msgs/s", ours), rate(base), ratio(ours, base),
		fmt.Sprintf("publish to last commit %v (published in %v); %.1f rows/commit; Go heap %.1f -> %.1f MiB after GC; StoreMany best of 3 (targets >= 0.5x, >= 10,000 msgs/s)",
			took.Round(time.Millisecond), published.Round(time.Millisecond), float64(st.RowsWritten)/max(1, float64(st.Batches)),
			float64(m0.HeapAlloc)/(1<<20), float64(m1.HeapAlloc)/(1<<20)))
	r.t.add("mqtt: the same messages -> recorder vs a subscriber that stores nothing", fmt.Sprintf("%.0f msgs/s", ours),
		fmt.Sprintf("%.0f msgs/s", mqttCeilingRate), ratio(ours, mqttCeilingRate),
		"the baseline acks each message at once: what mosquitto, 8 publishers and paho allow on this machine")
	return nil
}

// mqttCeiling times the same n messages to a plain paho subscriber that
// acknowledges each at once and stores nothing: what the broker, the
// publishers and the client library allow on this machine.
func (r *runner) mqttCeiling(ctx context.Context, broker *mqtttest.Broker, n int) error {
	r.progress("mqtt: %d QoS 1 messages from %d publishers to a subscriber that stores nothing", n, mqttPublishers)
	var got atomic.Int64
	o := paho.NewClientOptions().AddBroker("tcp://" + broker.Addr()).SetClientID("bench-ceiling").SetCleanSession(false).
		SetAutoReconnect(false).SetDefaultPublishHandler(func(paho.Client, paho.Message) { got.Add(1) })
	sub := paho.NewClient(o)
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("mqtt ceiling subscriber: connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("ceiling/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("mqtt ceiling subscriber: subscribe: %v", tok.Error())
	}
	start := time.Now()
	per := n / mqttPublishers
	if err := publishAll(ctx, broker.Addr(), "ceiling", per); err != nil {
		return err
	}
	total := int64(per * mqttPublishers)
	if err := waitUntil(ctx, 5*time.Minute, func() bool { return got.Load() >= total }); err != nil {
		return fmt.Errorf("mqtt ceiling: %d of %d messages: %w", got.Load(), total, err)
	}
	took := time.Since(start)
	mqttCeilingRate = float64(total) / took.Seconds()
	return nil
}

// publishAll publishes per messages from each of mqttPublishers clients
// under the topic prefix, and waits for all of them.
func publishAll(ctx context.Context, addr, prefix string, per int) error {
	var wg sync.WaitGroup
	pubErr := make(chan error, mqttPublishers)
	for p := range mqttPublishers {
		wg.Go(func() {
			if err := publishRange(ctx, addr, fmt.Sprintf("%s-pub-%d", prefix, p), prefix, p*per, per); err != nil {
				pubErr <- err
			}
		})
	}
	wg.Wait()
	close(pubErr)
	return <-pubErr
}

// publishRange publishes count QoS 1 messages {"v":0.5,"seq":i} from
// first on, on 100 topics, keeping up to 500 unacknowledged.
func publishRange(ctx context.Context, addr, id, prefix string, first, count int) error {
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false).
		SetMaxResumePubInFlight(500))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("mqtt publisher %s: connect: %v", id, tok.Error())
	}
	defer c.Disconnect(100)
	window := make(chan paho.Token, 500)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for tok := range window {
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				errc <- fmt.Errorf("mqtt publisher %s: not acknowledged within 30s: %v", id, tok.Error())
				for range window {
				}
				return
			}
		}
	}()
	for i := first; i < first+count && ctx.Err() == nil; i++ {
		window <- c.Publish(fmt.Sprintf("%s/dev%02d/value", prefix, i%100), 1, false, valueJSON(int64(i)))
	}
	close(window)
	if err := <-errc; err != nil {
		return err
	}
	return ctx.Err()
}

// mqttRows reads every row of path.
func mqttRows(ctx context.Context, path string) ([]rechist.Record[json.RawMessage], error) {
	db, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return rechist.Query[json.RawMessage](ctx, db, "*", rechist.QueryParams{})
}

func timeStoreManyRaw(ctx context.Context, path string, rows []rechist.Record[json.RawMessage]) (time.Duration, error) {
	db, err := rechist.Open(ctx, path, rechist.WithSynchronous(rechist.SyncNormal))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	if err := rechist.NewRepo[json.RawMessage](db).StoreMany(ctx, rows); err != nil {
		return 0, err
	}
	d := time.Since(start)
	return d, db.Close()
}

// mqttLatency publishes samples messages one at a time and times each
// until a second handle on the file sees its row through Changes.
func (r *runner) mqttLatency(ctx context.Context, broker *mqtttest.Broker, samples int) error {
	r.progress("mqtt: publish -> visible to another reader, %d messages, SyncFull", samples)
	path := r.path("mqtt-latency.db")
	br, err := startRecorder(ctx, broker, path, "lat/#", "bench-latency") // SyncFull, as rechist record
	if err != nil {
		return err
	}
	defer br.db.Close()
	defer br.cancel()
	db := br.db
	reader, err := rechist.Open(ctx, path, rechist.WithReadOnly())
	if err != nil {
		return err
	}
	defer reader.Close()
	after, err := reader.LastID(ctx)
	if err != nil {
		return err
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker.Addr()).SetClientID("bench-lat-pub").SetAutoReconnect(false))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("mqtt latency publisher: connect: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	lat := make([]time.Duration, 0, samples)
	for i := range samples {
		t0 := time.Now()
		pub.Publish("lat/x", 1, false, fmt.Sprintf(`{"seq":%d}`, i))
		deadline := t0.Add(10 * time.Second)
		for seen := false; !seen; {
			var ch []rechist.Change
			ch, after, err = reader.Changes(ctx, "lat.x", after, 100)
			if err != nil {
				return err
			}
			seen = len(ch) > 0
			if !seen {
				if time.Now().After(deadline) {
					return fmt.Errorf("mqtt: message %d not visible within 10s", i)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(5 * time.Millisecond)
	}
	if err := br.stop(); err != nil {
		return err
	}
	slices.Sort(lat)
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	r.t.add("mqtt: publish -> row visible to another reader, SyncFull", ms(pct(50)), "", "",
		fmt.Sprintf("p50 of %d one at a time; p99 %s, max %s (target p99 <= 100 ms)", samples, ms(pct(99)), ms(lat[len(lat)-1])))
	return db.Close()
}

// waitUntil polls cond every 5 ms until it holds, limit passes or ctx
// ends.
func waitUntil(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// mqttSustainedMin is the --for from which the mqtt step runs
// mqttSustained instead of mqttIngest.
const mqttSustainedMin = time.Minute

// mqttSampleEvery is how often mqttSustained samples the rows and the
// memory.
const mqttSampleEvery = 10 * time.Second

// mqttBacklog bounds, in mqttSustained, the messages published and not
// yet stored: beyond it the publishers wait, so the broker's queue stays
// bounded and the rate measured is what the recorder sustains, not what
// the broker can queue.
const mqttBacklog = 20_000

// mqttSample is one of mqttSustained's samples.
type mqttSample struct {
	at              time.Duration // since the first publish
	published, rows int64
	rssKiB          int64  // VmRSS: the recorder, the 8 publishers and the bench
	heap            uint64 // Go HeapAlloc after a GC
	goroutines      int
}

// mqttSustained publishes QoS 1 messages from mqttPublishers clients for d
// into a Recorder at SyncNormal (as mqttIngest, so that the rate compares
// with it), at most mqttBacklog ahead of the rows stored, and samples the
// rows and the process's memory every mqttSampleEvery. It reports the
// messages/s of the last minute against the first, and the memory at the
// end of the last minute against the end of the first.
func (r *runner) mqttSustained(ctx context.Context, broker *mqtttest.Broker, d time.Duration) error {
	ticks := max(int(d/mqttSampleEvery), int(mqttSustainedMin/mqttSampleEvery))
	perMin := int(time.Minute / mqttSampleEvery)
	r.progress("mqtt: sustained QoS 1 from %d publishers through the recorder for %v, SyncNormal, at most %d messages ahead of the rows; a sample every %v",
		mqttPublishers, time.Duration(ticks)*mqttSampleEvery, mqttBacklog, mqttSampleEvery)
	br, err := startRecorder(ctx, broker, r.path("mqtt-sustained.db"), "sus/#", "bench-sustained", rechist.WithSynchronous(rechist.SyncNormal))
	if err != nil {
		return err
	}
	defer br.db.Close()
	defer br.cancel()
	db, rec, runErr := br.db, br.rec, br.runErr

	var published atomic.Int64
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	pubDone := make(chan error, 1)
	start := time.Now()
	go func() {
		pubDone <- publishFor(pctx, broker.Addr(), "sus", &published, func() int64 { return rec.Stats().Rows })
	}()
	sample := func() mqttSample {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return mqttSample{at: time.Since(start), published: published.Load(), rows: rec.Stats().Rows,
			rssKiB: selfStatusKiB("VmRSS:"), heap: m.HeapAlloc, goroutines: runtime.NumGoroutine()}
	}
	samples := []mqttSample{sample()}
	tick := time.NewTicker(mqttSampleEvery)
	defer tick.Stop()
	for len(samples) <= ticks {
		select {
		case <-tick.C:
		case err := <-pubDone:
			return fmt.Errorf("mqtt: the publishers stopped after %v: %v", time.Since(start).Round(time.Second), err)
		case err := <-runErr:
			return fmt.Errorf("mqtt: the recorder stopped after %v: %v", time.Since(start).Round(time.Second), err)
		case <-ctx.Done():
			return ctx.Err()
		}
		s, prev := sample(), samples[len(samples)-1]
		samples = append(samples, s)
		r.progress("mqtt: %s: published %d, stored %d (%.0f msgs/s in the last %v), RSS %.1f MiB, Go heap %.1f MiB after GC, %d goroutines",
			clock(s.at), s.published, s.rows, float64(s.rows-prev.rows)/(s.at-prev.at).Seconds(), mqttSampleEvery,
			float64(s.rssKiB)/1024, float64(s.heap)/(1<<20), s.goroutines)
	}
	stop()
	if err := <-pubDone; err != nil {
		return err
	}
	total := published.Load()
	stopped := time.Now()
	if err := waitUntil(ctx, 2*time.Minute, func() bool { return rec.Stats().Rows >= total }); err != nil {
		return fmt.Errorf("mqtt: %d of %d rows stored: %w", rec.Stats().Rows, total, err)
	}
	drained := time.Since(stopped)
	if err := br.stop(); err != nil {
		return err
	}
	st := db.Stats()
	if err := db.Close(); err != nil {
		return err
	}

	first, last := samples[perMin], samples[len(samples)-1]
	lastFrom := samples[len(samples)-1-perMin]
	rateOf := func(a, b mqttSample) float64 { return float64(b.rows-a.rows) / (b.at - a.at).Seconds() }
	firstRate, lastRate := rateOf(samples[0], first), rateOf(lastFrom, last)
	var maxRSS int64
	var maxHeap uint64
	for _, s := range samples {
		maxRSS, maxHeap = max(maxRSS, s.rssKiB), max(maxHeap, s.heap)
	}
	whole := float64(last.rows) / last.at.Seconds()
	r.t.add(fmt.Sprintf("mqtt: sustained QoS 1 for %v, %d publishers -> recorder, SyncNormal: last minute vs first", clock(last.at), mqttPublishers),
		fmt.Sprintf("%.0f msgs/s", lastRate), fmt.Sprintf("%.0f msgs/s", firstRate), ratio(lastRate, firstRate),
		fmt.Sprintf("%d messages, %.0f msgs/s over the run (%.2fx the subscriber that stores nothing, %.0f msgs/s); publishers at most %d ahead of the rows; the last %d stored %v after the publishers stopped; %.1f rows/commit (target >= 10,000 msgs/s)",
			total, whole, whole/mqttCeilingRate, mqttCeilingRate, mqttBacklog, total-last.rows, drained.Round(time.Millisecond),
			float64(st.RowsWritten)/max(1, float64(st.Batches))))
	r.t.add("mqtt: sustained, the process's RSS at the end of the last minute vs the first", fmt.Sprintf("%.1f MiB", float64(last.rssKiB)/1024),
		fmt.Sprintf("%.1f MiB", float64(first.rssKiB)/1024), ratio(float64(last.rssKiB), float64(first.rssKiB)),
		fmt.Sprintf("Go heap after GC %.1f -> %.1f MiB (max %.1f), RSS max %.1f MiB, goroutines %d -> %d; one process: the recorder, the %d publishers, the bench (target: flat)",
			float64(first.heap)/(1<<20), float64(last.heap)/(1<<20), float64(maxHeap)/(1<<20), float64(maxRSS)/1024,
			first.goroutines, last.goroutines, mqttPublishers))
	return nil
}

// clock writes d as m:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// publishFor publishes QoS 1 messages from mqttPublishers clients under
// the topic prefix until ctx ends, counting them in published; a
// publisher waits while published is more than mqttBacklog ahead of
// stored(). It returns nil once ctx has ended and every publisher's
// messages are acknowledged by the broker.
func publishFor(ctx context.Context, addr, prefix string, published *atomic.Int64, stored func() int64) error {
	var wg sync.WaitGroup
	pubErr := make(chan error, mqttPublishers)
	for p := range mqttPublishers {
		wg.Go(func() {
			id := fmt.Sprintf("%s-pub-%d", prefix, p)
			c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetAutoReconnect(false))
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				pubErr <- fmt.Errorf("mqtt publisher %s: connect: %v", id, tok.Error())
				return
			}
			defer c.Disconnect(100)
			window := make(chan paho.Token, 500)
			errc := make(chan error, 1)
			go func() {
				defer close(errc)
				for tok := range window {
					if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
						errc <- fmt.Errorf("mqtt publisher %s: not acknowledged within 30s: %v", id, tok.Error())
						for range window {
						}
						return
					}
				}
			}()
			for i := int64(0); ctx.Err() == nil; i++ {
				for i%64 == 0 && published.Load()-stored() > mqttBacklog && ctx.Err() == nil {
					time.Sleep(2 * time.Millisecond)
				}
				window <- c.Publish(fmt.Sprintf("%s/dev%02d/value", prefix, i%100), 1, false, valueJSON(int64(p)<<40+i))
				published.Add(1)
			}
			close(window)
			if err := <-errc; err != nil {
				pubErr <- err
			}
		})
	}
	wg.Wait()
	close(pubErr)
	return <-pubErr
}

// selfStatusKiB is the field (such as "VmRSS:") of /proc/self/status in
// KiB, 0 if /proc does not say.
func selfStatusKiB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kib
			}
		}
	}
	return 0
}

// benchRecorder is a Recorder running on its own file for a scenario.
type benchRecorder struct {
	db     *rechist.DB
	rec    *rechistmqtt.Recorder
	cancel context.CancelFunc
	runErr chan error
}

// startRecorder opens path with opts and runs a Recorder of filter under
// clientID on it until stop, once it has connected.
func startRecorder(ctx context.Context, broker *mqtttest.Broker, path, filter, clientID string, opts ...rechist.Option) (*benchRecorder, error) {
	db, err := rechist.Open(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	rec, err := rechistmqtt.New(db, broker.URL("", ""), []string{filter}, rechistmqtt.WithClientID(clientID))
	if err != nil {
		db.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	b := &benchRecorder{db: db, rec: rec, cancel: cancel, runErr: make(chan error, 1)}
	go func() { b.runErr <- rec.Run(rctx) }()
	if err := waitUntil(ctx, 10*time.Second, func() bool { return rec.Stats().Connects > 0 }); err != nil {
		b.stop()
		db.Close()
		return nil, fmt.Errorf("mqtt: the recorder did not connect: %w", err)
	}
	return b, nil
}

// stop ends the recorder and returns what Run returned.
func (b *benchRecorder) stop() error {
	b.cancel()
	return <-b.runErr
}
