// Package s3test starts S3 servers on loopback for tests: versitygw
// (github.com/versity/versitygw, a real S3 gateway with a POSIX backend)
// and gofakes3 (in memory), each holding the bucket "quiver".
package s3test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// RequireVersityEnv names the variable .ci/run sets: when it is set, the
// tests against versitygw fail instead of skipping if the binary is missing.
const RequireVersityEnv = "QUIVER_REQUIRE_VERSITYGW"

// Bucket is the bucket every server holds.
const Bucket = "quiver"

// Test credentials: not secrets, but the tests check that they never
// appear in logs, manifests or state, as real keys must not.
const (
	AccessKey = "quiver-test"
	SecretKey = "quiver-test-secret-key"
)

// Server is a running S3 server.
type Server struct {
	// Endpoint is its base URL, http://127.0.0.1:PORT.
	Endpoint string

	stop func()
}

// Stop stops the server before the test ends, for tests of a store that
// stops answering; the test's cleanup stops it anyway.
func (s *Server) Stop() { s.stop() }

// URL returns the s3:// location of prefix in the server's bucket, with
// the query parameters an S3-compatible server needs.
func (s *Server) URL(prefix string) string {
	return "s3://" + Bucket + "/" + prefix + "?endpoint=" + s.Endpoint + "&use_path_style=true&region=us-east-1&disable_https=true"
}

// Env returns the AWS environment of the test credentials, for a child
// process: keys, region, and no shared config or instance metadata.
func Env(t *testing.T) []string {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
	}
}

// SetEnv sets Env in this process for the test (so the test cannot be
// parallel).
func SetEnv(t *testing.T) {
	t.Helper()
	for _, kv := range Env(t) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// FakeS3 starts gofakes3 in memory.
func FakeS3(t *testing.T) *Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	stop := sync.OnceFunc(srv.Close)
	t.Cleanup(stop)
	return &Server{Endpoint: srv.URL, stop: stop}
}

// Versity starts versitygw on 127.0.0.1 with a POSIX backend in a
// temporary folder, accepting the test credentials. It skips the test when
// the binary is not installed, unless $QUIVER_REQUIRE_VERSITYGW is set.
func Versity(t *testing.T) *Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		if gopath, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			cand := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw")
			if _, serr := os.Stat(cand); serr == nil {
				bin, err = cand, nil
			}
		}
	}
	if err != nil {
		if os.Getenv(RequireVersityEnv) != "" {
			t.Fatalf("versitygw is not installed but $%s says it must be: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0", RequireVersityEnv)
		}
		t.Skip("versitygw is not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0); skipping the tests against a real S3 server")
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, Bucket), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--port", addr, "posix", root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
	var out strings.Builder // read only once versitygw has exited
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	stop := sync.OnceFunc(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("versitygw did not answer on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &Server{Endpoint: "http://" + addr, stop: stop}
}
