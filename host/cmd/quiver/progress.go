package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// console is quiver's stderr: everything written to it (log lines, the
// signal notice) goes straight to the terminal, or, while progress bars are
// drawn, above the bars through their container, so that no line tears a
// bar. It is safe for concurrent use.
type console struct {
	mu   sync.Mutex
	base io.Writer // the real stderr
	via  io.Writer // the bars' container while bars are drawn, else nil
}

func newConsole(w io.Writer) *console { return &console{base: w} }

// Write writes b above the bars when they are drawn.
func (c *console) Write(b []byte) (int, error) {
	c.mu.Lock()
	via := c.via
	c.mu.Unlock()
	if via != nil {
		if n, err := via.Write(b); err == nil {
			return n, nil
		}
		// The container has stopped: write directly.
	}
	return c.base.Write(b)
}

// route sends writes through w (nil: directly to the terminal again).
func (c *console) route(w io.Writer) {
	c.mu.Lock()
	c.via = w
	c.mu.Unlock()
}

// isTerminal reports whether w (or the stderr behind a console) is a
// terminal.
func isTerminal(w io.Writer) bool {
	if c, ok := w.(*console); ok {
		w = c.base
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// canDrawBars reports whether w is a terminal with a size: mpb draws
// nothing on one that reports zero rows, as a pseudo-terminal nobody has
// sized does.
func canDrawBars(w io.Writer) bool {
	if !isTerminal(w) {
		return false
	}
	if c, ok := w.(*console); ok {
		w = c.base
	}
	width, height, err := term.GetSize(int(w.(*os.File).Fd()))
	return err == nil && width > 0 && height > 0
}

// progressObserver is a host.Observer that can be stopped.
type progressObserver interface {
	host.Observer
	stop()
}

// newProgress returns the progress display for stderr: bars on a terminal,
// else a log line per running stream every interval.
func (g *globals) newProgress(log *slog.Logger, every time.Duration) progressObserver {
	if c, ok := g.stderr.(*console); ok && canDrawBars(c) {
		return newProgressBars(c)
	}
	return newProgressLog(log, every)
}

// progressBars draws one bar per stream with vbauerster/mpb: records,
// pages, rate, and percent and ETA when the API gives a total.
type progressBars struct {
	out  *console
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[string]*streamBar
}

// streamBar is one stream's bar and what its decorators show.
type streamBar struct {
	bar    *mpb.Bar
	mu     sync.Mutex
	pr     protocol.Progress
	status string // set when the stream is done
}

// barRefresh is how often the bars are redrawn: often enough to look live,
// rarely enough to cost nothing.
const barRefresh = 150 * time.Millisecond

func newProgressBars(out *console) *progressBars {
	pb := &progressBars{
		out:  out,
		p:    mpb.New(mpb.WithOutput(out.base), mpb.WithDebugOutput(out.base), mpb.WithWidth(32), mpb.WithRefreshRate(barRefresh)),
		bars: map[string]*streamBar{},
	}
	out.route(pb.p)
	return pb
}

// StreamStarted implements host.Observer: it adds the stream's bar.
func (pb *progressBars) StreamStarted(source, stream string) {
	key := source + "." + stream
	sb := &streamBar{}
	bar, err := pb.p.Add(0, barOrSpinner{mpb.BarStyle().Build(), mpb.SpinnerStyle().Build()},
		mpb.PrependDecorators(
			decor.Name(key, decor.WCSyncSpaceR),
			decor.Any(sb.counts, decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(decor.Any(sb.rate, decor.WC{C: decor.DextraSpace})),
	)
	if err != nil {
		return // the container has stopped; the summary still follows
	}
	sb.bar = bar
	pb.mu.Lock()
	pb.bars[key] = sb
	pb.mu.Unlock()
}

// StreamProgress implements host.Observer.
func (pb *progressBars) StreamProgress(source, stream string, pr protocol.Progress) {
	sb := pb.bar(source, stream)
	if sb == nil {
		return
	}
	sb.mu.Lock()
	sb.pr = pr
	sb.mu.Unlock()
	if pr.Total > 0 {
		sb.bar.SetTotal(max(pr.Total, pr.Records), false)
	}
	sb.bar.SetCurrent(pr.Records)
}

// StreamDone implements host.Observer: the bar ends, full for a complete
// stream, with its status otherwise.
func (pb *progressBars) StreamDone(source, stream string, r *host.StreamResult) {
	sb := pb.bar(source, stream)
	if sb == nil {
		return
	}
	sb.mu.Lock()
	sb.status = r.Status
	sb.mu.Unlock()
	if r.Status == "complete" {
		sb.bar.SetTotal(-1, true)
	} else {
		sb.bar.Abort(false)
	}
}

func (pb *progressBars) bar(source, stream string) *streamBar {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.bars[source+"."+stream]
}

// stop ends every bar still running, draws them a last time and sends the
// log back to the terminal.
func (pb *progressBars) stop() {
	pb.mu.Lock()
	for _, sb := range pb.bars {
		sb.bar.Abort(false)
	}
	pb.mu.Unlock()
	pb.p.Wait()
	pb.out.route(nil)
}

// counts decorates a bar with the records and pages read.
func (sb *streamBar) counts(decor.Statistics) string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return fmt.Sprintf("%s records  %s pages", thousands(sb.pr.Records), thousands(sb.pr.Pages))
}

// rate decorates a bar with the rate, and percent and ETA when the total
// is known, or the final status.
func (sb *streamBar) rate(decor.Statistics) string {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	pr := sb.pr
	perSec := 0.0
	if s := pr.Elapsed.Seconds(); s > 0 {
		perSec = float64(pr.Records) / s
	}
	text := thousands(int64(perSec)) + "/s"
	if pr.Total > 0 {
		text += fmt.Sprintf("  %3.0f%%", 100*math.Min(1, float64(pr.Records)/float64(pr.Total)))
		if sb.status == "" && perSec > 0 && pr.Total > pr.Records {
			eta := time.Duration(float64(pr.Total-pr.Records) / perSec * float64(time.Second))
			text += "  ETA " + eta.Round(time.Second).String()
		}
	}
	if sb.status != "" {
		text += "  " + sb.status
	}
	return text
}

// barOrSpinner fills a bar when its total is known and spins otherwise.
type barOrSpinner struct{ bar, spinner mpb.BarFiller }

// Fill implements mpb.BarFiller.
func (f barOrSpinner) Fill(w io.Writer, st decor.Statistics) error {
	if st.Total > 0 || st.Completed {
		return f.bar.Fill(w, st)
	}
	return f.spinner.Fill(w, st)
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// progressLog logs each running stream's progress every interval; it is the
// progress display when stderr is not a terminal.
type progressLog struct {
	log      *slog.Logger
	mu       sync.Mutex
	last     map[[2]string]protocol.Progress
	done     chan struct{}
	wg       sync.WaitGroup
	interval time.Duration
}

func newProgressLog(log *slog.Logger, every time.Duration) *progressLog {
	p := &progressLog{log: log, last: map[[2]string]protocol.Progress{}, done: make(chan struct{}), interval: every}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progressLog) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			for key, pr := range p.last {
				args := []any{"source", key[0], "stream", key[1], "records", pr.Records, "pages", pr.Pages}
				perSec := 0.0
				if s := pr.Elapsed.Seconds(); s > 0 {
					perSec = float64(pr.Records) / s
					args = append(args, "records_per_s", int64(perSec))
				}
				if pr.Total > 0 {
					args = append(args, "total", pr.Total, "percent", int(100*math.Min(1, float64(pr.Records)/float64(pr.Total))))
					if perSec > 0 && pr.Total > pr.Records {
						args = append(args, "eta_s", int64(float64(pr.Total-pr.Records)/perSec))
					}
				}
				p.log.Info("progress", args...)
			}
			p.mu.Unlock()
		}
	}
}

func (p *progressLog) stop() {
	close(p.done)
	p.wg.Wait()
}

// StreamStarted implements host.Observer.
func (p *progressLog) StreamStarted(source, stream string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[[2]string{source, stream}] = protocol.Progress{}
}

// StreamProgress implements host.Observer.
func (p *progressLog) StreamProgress(source, stream string, pr protocol.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last[[2]string{source, stream}] = pr
}

// StreamDone implements host.Observer.
func (p *progressLog) StreamDone(source, stream string, r *host.StreamResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, [2]string{source, stream})
	args := []any{"source", source, "stream", stream, "status", r.Status, "records", r.Records, "files", len(r.Files)}
	if r.Uncommitted > 0 {
		args = append(args, "uncommitted", r.Uncommitted)
	}
	if r.Status == "failed" {
		// The one log line of a stream's failure (bars show it in the
		// summary instead).
		p.log.Error("stream failed", append(args, "error", r.Error)...)
		return
	}
	p.log.Info("stream done", args...)
}
