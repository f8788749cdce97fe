package blobstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quiver-etl/quiver/internal/s3test"
)

// stores returns a store of every kind the tests run against, each opened
// fresh under its own prefix.
func stores(t *testing.T) map[string]func(t *testing.T) *Store {
	t.Helper()
	return map[string]func(t *testing.T) *Store{
		"path":      func(t *testing.T) *Store { return open(t, filepath.Join(t.TempDir(), "out")) },
		"file":      func(t *testing.T) *Store { return open(t, "file://"+filepath.ToSlash(t.TempDir())+"/out") },
		"gofakes3":  func(t *testing.T) *Store { s3test.SetEnv(t); return open(t, s3test.FakeS3(t).URL("team/out")) },
		"versitygw": func(t *testing.T) *Store { s3test.SetEnv(t); return open(t, s3test.Versity(t).URL("team/out")) },
	}
}

func open(t *testing.T, location string) *Store {
	t.Helper()
	s, err := Open(context.Background(), location)
	if err != nil {
		t.Fatalf("Open(%s): %v", location, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	for name, openStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			if err := s.Put(ctx, "acme/employees/part-1.parquet", []byte("one")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Upload(ctx, "acme/employees/part-2.parquet", strings.NewReader("two")); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "acme/state/1.json", []byte("{}")); err != nil {
				t.Fatal(err)
			}
			got, err := s.Read(ctx, "acme/employees/part-2.parquet")
			if err != nil || string(got) != "two" {
				t.Errorf("Read = %q, %v; want two", got, err)
			}
			objs, err := s.List(ctx, "acme/employees/")
			if err != nil {
				t.Fatal(err)
			}
			if want := []Object{{"acme/employees/part-1.parquet", 3}, {"acme/employees/part-2.parquet", 3}}; fmt.Sprint(objs) != fmt.Sprint(want) {
				t.Errorf("List = %v, want %v", objs, want)
			}

			// Create is create-only.
			if err := s.Create(ctx, "acme/state/2.json", []byte(`{"n":2}`)); err != nil {
				t.Fatalf("first Create: %v", err)
			}
			if err := s.Create(ctx, "acme/state/2.json", []byte(`{"n":3}`)); !errors.Is(err, ErrExist) {
				t.Errorf("second Create: %v, want ErrExist", err)
			}
			if got, _ := s.Read(ctx, "acme/state/2.json"); string(got) != `{"n":2}` {
				t.Errorf("after a refused Create the object holds %q", got)
			}

			if err := s.Delete(ctx, "acme/employees/part-1.parquet"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "acme/employees/part-1.parquet"); err != nil {
				t.Errorf("deleting a missing key: %v", err)
			}
			if _, err := s.Read(ctx, "acme/employees/part-1.parquet"); !errors.Is(err, ErrNotExist) {
				t.Errorf("Read of a deleted key: %v, want ErrNotExist", err)
			}
			if ok, err := s.Exists(ctx, "acme/employees/part-2.parquet"); !ok || err != nil {
				t.Errorf("Exists = %v, %v", ok, err)
			}
			if err := s.Put(ctx, "../escape", nil); err == nil {
				t.Error("a key escaping the prefix was accepted")
			}
		})
	}
}

// TestCreateRace: of many concurrent Creates of one key exactly one wins,
// and the object holds the winner's bytes.
func TestCreateRace(t *testing.T) {
	ctx := context.Background()
	for name, openStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := openStore(t)
			const n = 8
			var wins atomic.Int32
			var winner atomic.Value
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					data := fmt.Sprintf("writer %d", i)
					err := s.Create(ctx, "state/acme/00000000000000000001.json", []byte(data))
					switch {
					case err == nil:
						wins.Add(1)
						winner.Store(data)
					case !errors.Is(err, ErrExist):
						t.Errorf("writer %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d writers created the key, want 1", wins.Load())
			}
			if got, _ := s.Read(ctx, "state/acme/00000000000000000001.json"); string(got) != winner.Load() {
				t.Errorf("object holds %q, the winner wrote %q", got, winner.Load())
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	for _, loc := range []string{"ftp://host/x", "s3:///prefix", "file://remote/x"} {
		if _, err := Open(context.Background(), loc); err == nil {
			t.Errorf("Open(%q) succeeded", loc)
		}
	}
	for loc, want := range map[string]bool{"s3://b/p": true, "GS://b": true, "azblob://c": true, "file:///x": true, "out/data": false, "C:/out": false, "http://x": false} {
		if got := IsURL(loc); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", loc, got, want)
		}
	}
}

// TestOpen_PlainHTTP: an S3 endpoint over plain http is accepted on
// loopback hosts, and elsewhere only with allow_insecure_http=true (which
// the driver never sees).
func TestOpen_PlainHTTP(t *testing.T) {
	s3test.SetEnv(t)
	for _, tt := range []struct {
		query string
		ok    bool
	}{
		{"endpoint=http://127.0.0.1:7070&disable_https=true&use_path_style=true", true},
		{"endpoint=http://localhost:7070", true},
		{"endpoint=http://[::1]:7070", true},
		{"endpoint=localhost:9000&disable_https=true", true},
		{"endpoint=https://minio.minio.svc:9000&use_path_style=true", true},
		{"endpoint=http://minio.minio.svc:9000&allow_insecure_http=true", true},
		{"endpoint=http://minio.minio.svc:9000&disable_https=true&allow_insecure_http=true", true},
		{"endpoint=http://minio.minio.svc:9000", false},
		{"endpoint=http://10.0.0.7:9000&disable_https=true", false},
		{"endpoint=minio:9000&disable_https=true", false},
		{"disable_https=true", false},
		{"endpoint=http://minio:9000&allow_insecure_http=false", false},
		{"endpoint=http://minio:9000&allow_insecure_http=yes", false},
	} {
		t.Run(tt.query, func(t *testing.T) {
			s, err := Open(context.Background(), "s3://quiver/team?region=us-east-1&"+tt.query)
			if err == nil {
				s.Close()
			}
			if tt.ok && err != nil {
				t.Errorf("Open: %v", err)
			}
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), "allow_insecure_http")) {
				t.Errorf("Open = %v, want a refusal naming allow_insecure_http", err)
			}
		})
	}
}
