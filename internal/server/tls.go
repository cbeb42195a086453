package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// TLSFiles names the PEM files of the public listener's TLS.
type TLSFiles struct {
	Cert, Key string // the certificate chain and its private key
	ClientCA  string // when set, clients must present a certificate it signed
}

// Certificates serves the listener's certificate and re-reads its files
// when they change, so that a renewed certificate (an Origin CA one, say)
// is picked up without a restart or a dropped connection: handshakes after
// the change get the new one, connections already open keep theirs.
type Certificates struct {
	files TLSFiles
	log   *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time // modification times of the files loaded
	checked time.Time
}

// certCheckEvery bounds how often a handshake looks at the files' times.
const certCheckEvery = time.Second

// LoadCertificates loads the certificate and key, failing with a message
// that names the setting when a file is missing or unreadable or the key
// does not match the certificate.
func LoadCertificates(files TLSFiles, log *slog.Logger) (*Certificates, error) {
	c := &Certificates{files: files, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Certificates) load() error {
	st, err := stamps(c.files.Cert, c.files.Key)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(c.files.Cert, c.files.Key)
	if err != nil {
		return fmt.Errorf("server.tls_cert and server.tls_key: %w", err)
	}
	c.mu.Lock()
	c.cert, c.stamp, c.checked = &cert, st, time.Now()
	c.mu.Unlock()
	return nil
}

func stamps(cert, key string) ([2]time.Time, error) {
	var st [2]time.Time
	for i, f := range []struct{ name, path string }{{"server.tls_cert", cert}, {"server.tls_key", key}} {
		info, err := os.Stat(f.path)
		if err != nil {
			return st, fmt.Errorf("%s: %w", f.name, err)
		}
		st[i] = info.ModTime()
	}
	return st, nil
}

// Reload re-reads the files now (on SIGHUP). On failure the certificate in
// use stays, and the error says why.
func (c *Certificates) Reload() error {
	err := c.load()
	if err != nil {
		c.log.Error("TLS certificate not reloaded; the previous one stays in use", "err", err)
	} else {
		c.log.Info("TLS certificate loaded", "file", c.files.Cert)
	}
	return err
}

// get is tls.Config.GetCertificate: the current certificate, reloaded
// first when a file changed since it was loaded.
func (c *Certificates) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	due := time.Since(c.checked) >= certCheckEvery
	if due {
		c.checked = time.Now()
	}
	cert, loaded := c.cert, c.stamp
	c.mu.Unlock()
	if due {
		if st, err := stamps(c.files.Cert, c.files.Key); err == nil && st != loaded {
			if c.Reload() == nil {
				c.mu.Lock()
				cert = c.cert
				c.mu.Unlock()
			}
		}
	}
	return cert, nil
}

// Config returns the listener's TLS configuration: HTTP/2 and HTTP/1.1,
// TLS 1.2 at least, and, with a client CA, a handshake that refuses any
// client without a certificate it signed (Cloudflare's Authenticated
// Origin Pulls).
func (c *Certificates) Config() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: c.get,
	}
	if c.files.ClientCA == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(c.files.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("server.tls_client_ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("server.tls_client_ca: no PEM certificate in " + c.files.ClientCA)
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg, nil
}
