//go:build linux

package e2e

// A plugin sees the host's proxy and TLS trust settings, and none of its
// secrets: a user behind a corporate proxy that inspects TLS with a
// private CA reaches the vendor through both.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// vendorHost is the vendor's name in the test: only the proxy knows where
// it is (.invalid never resolves), and only the private CA vouches for it.
const vendorHost = "acme.tracktik.invalid"

// TestPluginEnv_ProxyAndPrivateCA syncs TrackTik at https://acme.tracktik.invalid
// through an HTTPS_PROXY that tunnels to the simulator behind TLS with a
// certificate of a private CA in SSL_CERT_FILE. Plugins start with an empty
// environment but for an allowlist: without HTTPS_PROXY the plugin cannot
// find the host, without SSL_CERT_FILE it refuses the certificate (checked
// first), and the secrets in quiver's environment never reach it.
func TestPluginEnv_ProxyAndPrivateCA(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{
		Seed:   6,
		Counts: map[string]int{"employees": 40, "clients": 5, "positions": 10, "shifts": 60, "work-sessions": 30, "reports": 20},
	})
	out := t.TempDir()
	caFile := filepath.Join(out, "ca.pem")
	cert := privateCert(t, caFile)

	// front is the vendor: TLS with the private certificate, forwarding to
	// the simulator. Once hold is set, its next request waits until the
	// test has read the plugin's environment, so that the plugin is alive
	// to read it from.
	reached, release := make(chan struct{}), make(chan struct{})
	var hold atomic.Bool
	stopWaiting := sync.OnceFunc(func() { close(release) })
	defer stopWaiting()
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	forward := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.CompareAndSwap(true, false) {
			close(reached)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		forward.ServeHTTP(w, r)
	}))
	front.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	front.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes of the first run
	front.StartTLS()
	defer front.Close()

	// proxy tunnels every CONNECT to front, whatever host it names.
	var tunnels atomic.Int64
	var tunnelHost atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "this proxy only tunnels", http.StatusMethodNotAllowed)
			return
		}
		tunnels.Add(1)
		tunnelHost.Store(r.Host)
		tunnel(w, front.Listener.Addr().String())
	}))
	defer proxy.Close()

	cfg := writeConfig(t, out, "sources:\n"+trackTikSource("acme", "https://"+vendorHost, "")+destinationAt(out))
	const hostSecret = "plugenv-host-only-secret"
	env := append(slices.Clone(trackTikEnv),
		"TRACKTIK_PASSWORD="+hostSecret,
		"HTTPS_PROXY="+proxy.URL, "https_proxy=", "HTTP_PROXY=", "http_proxy=",
		"NO_PROXY=nothing.invalid", "no_proxy=nothing.invalid",
		"SSL_CERT_FILE=",
		host.PluginEnvNames+"=QUIVER_TEST_PLUGIN_ENV", "QUIVER_TEST_PLUGIN_ENV=passed",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Without the CA the plugin reaches the vendor through the proxy and
	// refuses its certificate at once: a config error, not one to retry.
	r := quiver(ctx, t, env, "check", "-c", cfg)
	if r.code != 2 || !strings.Contains(r.stderr, "x509: certificate signed by unknown authority") {
		t.Fatalf("check without the private CA: exit %d, want 2 and a certificate error\nstderr:\n%s", r.code, tail(r.stderr, 20))
	}
	if tunnels.Load() == 0 {
		t.Fatalf("the plugin did not use HTTPS_PROXY\nstderr:\n%s", tail(r.stderr, 20))
	}

	// With it, a sync succeeds.
	tunnels.Store(0)
	hold.Store(true)
	env = append(env, "SSL_CERT_FILE="+caFile)
	cmd, done := startQuiver(ctx, t, env, "sync", "-c", cfg, "--log-level", "debug")
	select {
	case <-reached:
	case r := <-done:
		t.Fatalf("quiver sync exit %d before its plugin reached the vendor\nstderr:\n%s", r.code, tail(r.stderr, 30))
	}
	pid := childPID(t, cmd.Process.Pid, "quiver-tracktik")
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	stopWaiting()
	r = <-done
	if r.code != 0 {
		t.Fatalf("quiver sync exit %d\nstderr:\n%s", r.code, tail(r.stderr, 40))
	}
	for _, s := range trackTikStreams {
		checkStream(t, srv, out, s)
	}
	if n, h := tunnels.Load(), tunnelHost.Load(); n == 0 || h != vendorHost+":443" {
		t.Errorf("%d tunnels through the proxy, the last to %v; want some, to %s:443", n, h, vendorHost)
	}
	checkPluginEnv(t, strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00"), cmd.Environ(), caFile, proxy.URL)
	checkNoSecrets(t, out, r)
	if strings.Contains(r.stderr, hostSecret) || strings.Contains(r.stderr, caFile) {
		t.Error("the log shows the value of a variable passed to the plugin")
	}
}

// checkPluginEnv checks the environment of a plugin that quiver, running
// with hostEnv and --log-level debug, started: exactly
// host.PluginEnvironment's part of hostEnv, the log level and go-plugin's
// own variables, which hold the proxy, the CA file and the variable
// QUIVER_PLUGIN_ENV named, and no secret.
func checkPluginEnv(t *testing.T, pluginEnv, hostEnv []string, caFile, proxyURL string) {
	t.Helper()
	var got []string
	for _, kv := range pluginEnv {
		name, _, _ := strings.Cut(kv, "=")
		if name != "QUIVER_PLUGIN" && !strings.HasPrefix(name, "PLUGIN_") { // go-plugin's
			got = append(got, kv)
		}
	}
	want := append(host.PluginEnvironment(hostEnv), protocol.EnvLogLevel+"=DEBUG")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the plugin's environment is\n%q\nwant\n%q", got, want)
	}
	for _, kv := range []string{"SSL_CERT_FILE=" + caFile, "HTTPS_PROXY=" + proxyURL, "QUIVER_TEST_PLUGIN_ENV=passed"} {
		if !slices.Contains(pluginEnv, kv) {
			t.Errorf("the plugin's environment lacks %s", kv)
		}
	}
	for _, kv := range pluginEnv {
		name, value, _ := strings.Cut(kv, "=")
		if strings.Contains(name, "PASSWORD") || strings.Contains(name, "SECRET") || name == host.PluginEnvNames ||
			value == tracktiksim.Password || value == tracktiksim.ClientSecret {
			t.Errorf("the plugin sees %s from quiver's environment", name)
		}
	}
}

// privateCert returns a self-signed certificate for vendorHost, which is
// its own CA, and writes it to caFile in PEM.
func privateCert(t *testing.T, caFile string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Quiver test private CA"},
		DNSNames:              []string{vendorHost},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tunnel answers a CONNECT request with a tunnel to addr and copies bytes
// both ways until either side closes.
func tunnel(w http.ResponseWriter, addr string) {
	up, err := net.Dial("tcp", addr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer up.Close()
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(up, buf.Reader)
		_ = up.(*net.TCPConn).CloseWrite()
	})
	_, _ = io.Copy(conn, up)
	_ = conn.Close()
	wg.Wait()
}
