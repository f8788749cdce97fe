// Package blobstore is Quiver's seam to where outputs and state live: a
// local folder or an object store (S3 and S3-compatible servers, Google
// Cloud Storage, Azure Blob Storage), through gocloud.dev/blob.
//
// A location is a plain path or a URL:
//
//	out/data                                  a local folder (created if missing)
//	file:///var/lib/quiver                    the same, as a URL
//	s3://bucket/prefix?region=eu-west-1       AWS S3, credentials from the usual AWS environment
//	s3://bucket/prefix?endpoint=http://127.0.0.1:7070&use_path_style=true&region=us-east-1
//	                                          an S3-compatible server (versitygw, MinIO, Ceph)
//	gs://bucket/prefix                        Google Cloud Storage (application default credentials)
//	azblob://container/prefix                 Azure Blob Storage (AZURE_STORAGE_ACCOUNT and friends)
//
// The URL's path is a key prefix: every key a Store reads or writes is
// under it. Other query parameters are the gocloud.dev driver's own, but
// for allow_insecure_http (see AllowInsecureHTTP): an S3 endpoint over
// plain http must be a loopback host unless the URL has it.
//
// Object stores have no rename and no lock, so a Store offers what they
// do have: Create writes an object only if no object has its key (S3
// If-None-Match: *, a GCS generation-0 precondition, an Azure If-None-Match
// ETag condition; on a local folder a hard link, which is atomic between
// processes too), and a second Create of the key fails with ErrExist.
// Lease builds a lock with an expiry on it. A Store is safe for concurrent
// use.
package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob" // gs://
	_ "gocloud.dev/blob/s3blob"  // s3://
	"gocloud.dev/gcerrors"

	"github.com/quiver-etl/quiver/sdk/auth"
)

// ErrExist is returned (wrapped) by Create when the key already exists.
var ErrExist = fs.ErrExist

// ErrNotExist is returned (wrapped) by Read when the key does not exist.
var ErrNotExist = fs.ErrNotExist

// Schemes are the URL schemes Open accepts.
var Schemes = []string{"file", "s3", "gs", "azblob"}

// Store is a bucket (or a local folder) under a key prefix.
type Store struct {
	bucket   *blob.Bucket
	location string // as given to Open, for messages
	dir      string // the local folder, or "" for an object store
}

// IsURL reports whether location is a URL of one of the Schemes rather
// than a plain path.
func IsURL(location string) bool {
	scheme, _, ok := strings.Cut(location, "://")
	if !ok {
		return false
	}
	for _, s := range Schemes {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}

// Open opens the store at location: a plain path or a URL (see the package
// doc). A local folder is created (0700) if it is missing.
func Open(ctx context.Context, location string) (*Store, error) {
	if !strings.Contains(location, "://") {
		return openDir(location, location)
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("blobstore: %q: %w", location, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("blobstore: %q: a file URL names a local folder: file:///path", location)
		}
		return openDir(location, filepath.FromSlash(u.Path))
	case "s3", "gs", "azblob":
	default:
		return nil, fmt.Errorf("blobstore: %q: unsupported scheme %q; want a path or one of file://, s3://, gs://, azblob://", location, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("blobstore: %q: the URL names no bucket", location)
	}
	prefix := strings.Trim(u.Path, "/")
	bu := *u
	bu.Path = ""
	if strings.EqualFold(u.Scheme, "s3") {
		q := u.Query()
		if err := checkPlainHTTP(q); err != nil {
			return nil, fmt.Errorf("blobstore: %s: %w", redact(u), err)
		}
		q.Del(AllowInsecureHTTP)
		bu.RawQuery = q.Encode()
	}
	b, err := blob.OpenBucket(ctx, bu.String())
	if err != nil {
		return nil, fmt.Errorf("blobstore: open %s: %w", redact(u), err)
	}
	if prefix != "" {
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	return &Store{bucket: b, location: redact(u)}, nil
}

// AllowInsecureHTTP is the query parameter of an s3:// URL that allows a
// plain http endpoint on a host other than loopback (=true): data, state
// and cursors then cross the network unencrypted and can be altered on
// the way. Without it such an endpoint is refused, as plain http vendor
// URLs are.
const AllowInsecureHTTP = "allow_insecure_http"

// checkPlainHTTP refuses an S3 endpoint reached over plain http
// (endpoint=http://…, or disable_https=true) unless it is a loopback host
// or the query allows it (AllowInsecureHTTP).
func checkPlainHTTP(q url.Values) error {
	allow := q.Get(AllowInsecureHTTP)
	if allow != "" && allow != "true" && allow != "false" {
		return fmt.Errorf("%s=%q: want true or false", AllowInsecureHTTP, allow)
	}
	endpoint := q.Get("endpoint")
	host := endpoint
	plain := strings.EqualFold(q.Get("disable_https"), "true")
	if e, err := url.Parse(endpoint); err == nil && e.Host != "" {
		host = e.Hostname()
		plain = plain || strings.EqualFold(e.Scheme, "http")
	} else if h, _, err := net.SplitHostPort(endpoint); err == nil {
		host = h
	}
	if !plain || allow == "true" || (endpoint != "" && auth.IsLoopback(host)) {
		return nil
	}
	if endpoint == "" {
		host = "AWS S3"
	}
	return fmt.Errorf("plain http to %s: allowed only for a loopback endpoint (127.0.0.1, localhost); "+
		"use an https:// endpoint, or add %s=true to the URL to send data and state unencrypted", host, AllowInsecureHTTP)
}

// openDir opens a local folder.
func openDir(location, dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("blobstore: %q: no folder", location)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blobstore: %w", err)
	}
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite, NoTempDir: true})
	if err != nil {
		return nil, fmt.Errorf("blobstore: open %s: %w", dir, err)
	}
	return &Store{bucket: b, location: location, dir: dir}, nil
}

// redact drops the user info of a URL, which could hold a secret.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// String returns the location the store was opened at, without secrets.
func (s *Store) String() string { return s.location }

// Local returns the local folder of a store opened on a path or file URL,
// and false for an object store.
func (s *Store) Local() (string, bool) { return s.dir, s.dir != "" }

// Close releases the store's resources.
func (s *Store) Close() error { return s.bucket.Close() }

// checkKey rejects keys that would escape the prefix or clash with the
// local folder's temporary files.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || path.Clean(key) != key || strings.HasPrefix(key, "../") || key == ".." {
		return fmt.Errorf("blobstore: invalid key %q", key)
	}
	return nil
}

// Put writes data at key, replacing any object there. ctx governs the
// upload; an upload that fails or is cancelled leaves no object.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.bucket.WriteAll(ctx, key, data, nil); err != nil {
		return fmt.Errorf("blobstore: put %s in %s: %w", key, s, err)
	}
	return nil
}

// Upload copies r to key, replacing any object there, and returns the
// number of bytes written. An upload that fails or is cancelled leaves no
// object.
func (s *Store) Upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an unfinished writer is abandoned, not committed
	w, err := s.bucket.NewWriter(ctx, key, nil)
	if err != nil {
		return 0, fmt.Errorf("blobstore: upload %s to %s: %w", key, s, err)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		cancel()
		_ = w.Close()
		return n, fmt.Errorf("blobstore: upload %s to %s: %w", key, s, err)
	}
	if err := w.Close(); err != nil {
		return n, fmt.Errorf("blobstore: upload %s to %s: %w", key, s, err)
	}
	return n, nil
}

// Create writes data at key only if no object has that key; otherwise it
// writes nothing and returns an error wrapping ErrExist. Of two Creates of
// one key, on one store, from any processes, exactly one succeeds.
func (s *Store) Create(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if s.dir != "" {
		return s.createLocal(key, data)
	}
	err := s.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{IfNotExist: true})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("blobstore: create %s in %s: %w", key, s, ErrExist)
	}
	if err != nil {
		return fmt.Errorf("blobstore: create %s in %s: %w", key, s, err)
	}
	return nil
}

// tempDir is the folder of a local store that holds Create's temporary
// files: apart from the keys, so that listing a prefix never walks over a
// file that is about to vanish.
const tempDir = ".quiver-tmp"

// createLocal writes a temporary file, fsyncs it and links it to key: link
// fails if key exists, atomically between processes (fileblob checks only
// within one process).
func (s *Store) createLocal(key string, data []byte) error {
	final := filepath.Join(s.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return fmt.Errorf("blobstore: create %s: %w", key, err)
	}
	tmpDir := filepath.Join(s.dir, tempDir)
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return fmt.Errorf("blobstore: create %s: %w", key, err)
	}
	f, err := os.CreateTemp(tmpDir, "create-*.tmp")
	if err != nil {
		return fmt.Errorf("blobstore: create %s: %w", key, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blobstore: create %s: %w", key, err)
	}
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("blobstore: create %s in %s: %w", key, s, ErrExist)
		}
		return fmt.Errorf("blobstore: create %s: %w", key, err)
	}
	return nil
}

// Read returns the object at key; a missing key gives an error wrapping
// ErrNotExist.
func (s *Store) Read(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	data, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("blobstore: read %s in %s: %w", key, s, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("blobstore: read %s in %s: %w", key, s, err)
	}
	return data, nil
}

// Download copies the object at key to w.
func (s *Store) Download(ctx context.Context, key string, w io.Writer) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.bucket.Download(ctx, key, w, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("blobstore: read %s in %s: %w", key, s, ErrNotExist)
	}
	if err != nil {
		return fmt.Errorf("blobstore: read %s in %s: %w", key, s, err)
	}
	return nil
}

// Object is one entry of a List.
type Object struct {
	Key  string
	Size int64
}

// List returns the objects whose keys start with prefix, in key order,
// at any depth. A local folder's temporary files are not listed.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	for attempt := 0; ; attempt++ {
		out, err := s.list(ctx, prefix)
		// A local walk fails when a file it saw vanishes before it is
		// read (another process deleted or renamed it): walk again.
		if err != nil && s.dir != "" && gcerrors.Code(err) == gcerrors.NotFound && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("blobstore: list %s in %s: %w", prefix, s, err)
		}
		return out, nil
	}
}

func (s *Store) list(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if s.dir != "" && (strings.HasPrefix(o.Key, tempDir+"/") || strings.HasSuffix(o.Key, ".tmp")) {
			continue
		}
		out = append(out, Object{Key: o.Key, Size: o.Size})
	}
}

// Dirs returns the "folders" directly under prefix (which is "" or ends
// in "/"): the distinct next segments of the keys under it, each with its
// trailing slash, in key order, without listing the keys below them.
func (s *Store) Dirs(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("blobstore: list %s in %s: %w", prefix, s, err)
		}
		if o.IsDir && !(s.dir != "" && o.Key == tempDir+"/") {
			out = append(out, o.Key)
		}
	}
}

// Delete removes the object at key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.bucket.Delete(ctx, key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("blobstore: delete %s in %s: %w", key, s, err)
	}
	return nil
}

// Exists reports whether an object has key.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("blobstore: stat %s in %s: %w", key, s, err)
	}
	return ok, nil
}
