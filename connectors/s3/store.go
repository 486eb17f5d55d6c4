package s3

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object is one stored object as a listing reports it.
type Object struct {
	Bucket  string
	Key     string
	Size    int64
	ETag    string // without quotes; "" if the server gave none
	ModTime time.Time
}

// URL is the object's s3:// URL.
func (o Object) URL() string { return Scheme + o.Bucket + "/" + o.Key }

// Store reads and writes one object storage endpoint and keeps the local
// cache of downloaded objects. It is safe for concurrent use.
type Store struct {
	cfg       Config
	host      string // endpoint host:port, for messages
	credsFrom string // where the credentials came from, for messages
	log       *slog.Logger
	client    *minio.Client
	core      minio.Core
	slots     *slots        // range GETs and upload parts in flight
	files     chan struct{} // object downloads with an open file
	cache     *cache
	bufs      sync.Pool // *[]byte copy buffers
	// lastNetErr is the latest failure to connect, to explain a timeout.
	lastNetErr atomic.Pointer[netErr]
}

type netErr struct {
	err error
	at  time.Time
}

// errRecorder remembers the last connection failure of the transport.
type errRecorder struct {
	base http.RoundTripper
	last *atomic.Pointer[netErr]
}

func (r *errRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil && unreachable(err) {
		r.last.Store(&netErr{err: err, at: time.Now()})
	}
	return resp, err
}

// recentNetErr is the connection failure of the last timeout, if any.
func (s *Store) recentNetErr() error {
	if ne := s.lastNetErr.Load(); ne != nil && time.Since(ne.at) <= 2*s.cfg.Timeout {
		return ne.err
	}
	return nil
}

// copyBufSize is the buffer a range read copies through.
const copyBufSize = 256 << 10

// New validates cfg, fills its defaults, and opens the cache in
// cfg.CacheDir, rebuilding its index from the sidecar files there. It does
// not contact the endpoint: the first request does.
func New(cfg Config, logger *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, secure, _ := cfg.endpoint()
	roots, err := cfg.rootCAs() // validated: only the file may have changed since
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.CacheDir)
	if err != nil {
		return nil, configError("cache_dir", "%v", err)
	}
	cfg.CacheDir = dir

	var transport http.RoundTripper = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   cfg.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4 * cfg.Parallel,
		MaxIdleConnsPerHost:   4 * cfg.Parallel,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ReadBufferSize:        128 << 10,
		WriteBufferSize:       128 << 10,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
	}
	s := &Store{}
	transport = &errRecorder{base: transport, last: &s.lastNetErr}
	if cfg.WrapTransport != nil {
		transport = cfg.WrapTransport(transport)
	}
	creds, credsFrom := cfg.credentialsFor(os.Getenv) // aws.go
	client, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Transport:    transport,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   cfg.Retries + 1,
	})
	if err != nil {
		return nil, configError("endpoint", "%v", err)
	}
	s.cfg = cfg
	s.credsFrom = credsFrom
	s.host = host
	s.log = logger
	s.client = client
	s.core = minio.Core{Client: client}
	s.slots = newSlots(cfg.Parallel)
	s.files = make(chan struct{}, 2*cfg.Parallel)
	s.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	s.cache, err = openCache(s, dir, cfg.CacheSize)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Config is the store's configuration with its defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// partSize is the part size used for an object of size bytes: the
// configured one, raised when S3's 10,000 parts would not hold the object.
func (s *Store) partSize(size int64) int64 {
	ps := s.cfg.PartSize
	if min := (size + maxParts - 1) / maxParts; min > ps {
		ps = (min + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return ps
}
