package simhttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestListen(t *testing.T) {
	tests := []struct {
		name  string
		close func(*Server)
	}{
		{"close", (*Server).Close},
		{"close now", (*Server).CloseNow},
		{"close twice", func(s *Server) { s.Close(); s.Close() }},
		{"close then close now", func(s *Server) { s.Close(); s.CloseNow() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok "+r.URL.Path) })
			s, err := Listen("127.0.0.1:0", h, nil)
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
				t.Errorf("URL = %q, want http://127.0.0.1:port", s.URL)
			}
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			resp, err := c.Get(s.URL + "/x")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != "ok /x" {
				t.Errorf("GET body = %q, %v; want %q", b, err, "ok /x")
			}
			tt.close(s)
			if _, err := c.Get(s.URL + "/x"); err == nil {
				t.Errorf("GET after close: no error")
			}
		})
	}
}

func TestListenError(t *testing.T) {
	s, err := Listen("127.0.0.1:0", http.NotFoundHandler(), nil)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer s.Close()
	addr := strings.TrimPrefix(s.URL, "http://")
	_, err = Listen(addr, http.NotFoundHandler(), nil)
	if err == nil || !strings.Contains(err.Error(), "listen "+addr) {
		t.Fatalf("Listen on a used address = %v, want an error naming %s", err, addr)
	}
	var op interface{ Timeout() bool }
	if !errors.As(err, &op) {
		t.Errorf("Listen error %v does not wrap the net error", err)
	}
}

// fakeTB records what StartForTest asks of its test.
type fakeTB struct {
	cleanups []func()
	failed   string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Cleanup(fn func())              { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.failed = fmt.Sprintf(format, a...) }

type closer struct{ closed bool }

func (c *closer) Close() { c.closed = true }

// TestStartForTest: a started server is closed by the test's cleanup; a
// failed start fails the test with the name and the error.
func TestStartForTest(t *testing.T) {
	var ok fakeTB
	c := StartForTest(&ok, "sim.NewServer", func() (*closer, error) { return &closer{}, nil })
	if ok.failed != "" || len(ok.cleanups) != 1 {
		t.Fatalf("after a start: failed %q, %d cleanups; want none and one", ok.failed, len(ok.cleanups))
	}
	ok.cleanups[0]()
	if !c.closed {
		t.Error("the cleanup did not close the server")
	}
	var bad fakeTB
	StartForTest(&bad, "sim.NewServer", func() (*closer, error) { return nil, errors.New("listen: address in use") })
	if want := "sim.NewServer: listen: address in use"; bad.failed != want {
		t.Errorf("failure = %q, want %q", bad.failed, want)
	}
}
