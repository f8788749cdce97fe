package simhttp

import (
	"errors"
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
