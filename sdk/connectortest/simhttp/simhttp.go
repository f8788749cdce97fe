// Package simhttp runs a vendor simulator's HTTP server on a loopback
// listener: the listen, serve and close steps that every simulator shares.
package simhttp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// TB is the part of testing.TB a simulator's NewServer uses: *testing.T
// and *testing.B satisfy it. Declaring it here keeps the testing package
// out of the simulators' non-test code and so out of the quiver binary.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// CloseGrace bounds how long Close waits for requests in flight.
const CloseGrace = 5 * time.Second

// Server is an http.Server serving on its own listener until Close. Its
// methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234".
	URL string

	srv  *http.Server
	done chan struct{} // closed when Serve returns
	once sync.Once
}

// Listen listens on addr ("127.0.0.1:0" picks a free port) and serves h
// there until Close. The server's own errors are logged to log at Debug
// level; a nil log leaves http.Server's default error log.
func Listen(addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second, // loopback clients send headers at once
		},
		done: make(chan struct{}),
	}
	if log != nil {
		s.srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// Close stops the server, like httptest.Server.Close: it waits up to
// CloseGrace for requests in flight, then closes every connection, and
// returns when the server has stopped. It may be called more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		// Close has no ctx parameter (httptest's shape), so the grace
		// period is its own deadline.
		ctx, cancel := context.WithTimeout(context.Background(), CloseGrace)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		<-s.done
	})
}

// CloseNow stops the server at once: it closes every connection without
// waiting for requests in flight, and returns when the server has stopped.
// It may be called more than once, and with Close.
func (s *Server) CloseNow() {
	s.once.Do(func() {
		_ = s.srv.Close()
		<-s.done
	})
}

// StartForTest runs start (a simulator's Start on 127.0.0.1:0), fails t if
// it cannot, and closes the server when t's test ends: the body of every
// simulator's NewServer. name prefixes the failure.
func StartForTest[S interface{ Close() }](t TB, name string, start func() (S, error)) S {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(s.Close)
	return s
}
