package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imgproxy-team/imgproxy/internal/testimages"
	"github.com/imgproxy-team/imgproxy/internal/urlsig"
)

// issue makes a certificate for 127.0.0.1 (or a client certificate)
// signed by parent (self-signed when nil), with the serial given.
func issue(t *testing.T, serial int64, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca, client bool) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "imgproxy test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: ca,
	}
	switch {
	case ca:
		tmpl.ExtKeyUsage = nil // a CA restricted to server auth could not sign client certificates
	case client:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// signedPath is the signed path and query of key with name, value pairs,
// under warmKey.
func signedPath(t *testing.T, key string, kv ...string) string {
	t.Helper()
	var ps []urlsig.Param
	for i := 0; i < len(kv); i += 2 {
		ps = append(ps, urlsig.Param{Name: kv[i], Value: kv[i+1]})
	}
	u, err := signerFor(t, warmKey, "").URL(key, ps)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func tlsOrigin(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cat.jpg"), testimages.JPEG(testimages.Quadrants(80, 60)), 0o644)
	return dir
}

// The public listener over TLS: HTTP/2, a renewed certificate picked up by
// new handshakes without a restart while an open connection keeps going.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	cert1, _, certPEM, keyPEM := issue(t, 1, nil, nil, false, false)
	certFile := writeFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	keyFile := writeFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	base := startServe(t, tlsOrigin(t), "IMGPROXY_SERVER_TLS_CERT", certFile, "IMGPROXY_SERVER_TLS_KEY", keyFile)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base %s", base)
	}
	u := base + signedPath(t, "cat.jpg", "w", "40")

	pool := x509.NewCertPool()
	pool.AddCert(cert1)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr}
	res, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Proto != "HTTP/2.0" || res.TLS.PeerCertificates[0].SerialNumber.Int64() != 1 {
		t.Fatalf("%d %s serial %v", res.StatusCode, res.Proto, res.TLS.PeerCertificates[0].SerialNumber)
	}

	// Renewal: new files, same names.
	cert2, _, certPEM2, keyPEM2 := issue(t, 2, nil, nil, false, false)
	time.Sleep(1100 * time.Millisecond) // a different modification time, and past the check interval
	writeFile(t, keyFile, keyPEM2)
	writeFile(t, certFile, certPEM2)
	time.Sleep(1100 * time.Millisecond)
	// The open HTTP/2 connection goes on with the old certificate.
	if res, err := client.Get(u); err != nil || res.StatusCode != 200 || res.TLS.PeerCertificates[0].SerialNumber.Int64() != 1 {
		t.Fatalf("open connection after renewal: %v", err)
	}
	pool2 := x509.NewCertPool()
	pool2.AddCert(cert2)
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool2}, ForceAttemptHTTP2: true}}
	var serial int64
	for range 3 { // the first handshake after the change triggers the reload
		if res, err := fresh.Get(u); err == nil {
			res.Body.Close()
			serial = res.TLS.PeerCertificates[0].SerialNumber.Int64()
			break
		}
		fresh.CloseIdleConnections()
	}
	if serial != 2 {
		t.Errorf("new connection after renewal: serial %d, want the new certificate", serial)
	}
}

// Disk-only hits over TLS, where net/http cannot use sendfile: the body
// sent from the file reaches HTTP/2 and HTTP/1.1 clients whole and the
// same as the miss's, first read from memory, then from the file.
func TestServeTLSDiskOnlyHits(t *testing.T) {
	dir := t.TempDir()
	cert, _, certPEM, keyPEM := issue(t, 1, nil, nil, false, false)
	origin := t.TempDir()
	os.WriteFile(filepath.Join(origin, "photo.jpg"), testimages.JPEG(testimages.Photo(1200, 900)), 0o644)
	base := startServe(t, origin, "IMGPROXY_SERVER_TLS_CERT", writeFile(t, filepath.Join(dir, "cert.pem"), certPEM),
		"IMGPROXY_SERVER_TLS_KEY", writeFile(t, filepath.Join(dir, "key.pem"), keyPEM), "IMGPROXY_CACHE_MEMORY_SIZE", "0")
	u := base + signedPath(t, "photo.jpg", "w", "1000", "fm", "png") // large: many TLS records
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	var want []byte
	for i, h2 := range []bool{true, true, true, false, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		res, err := (&http.Client{Transport: tr}).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		tier := res.Header.Get("X-Cache")
		if err != nil || res.StatusCode != 200 || (i == 0) != (tier == "miss") || i > 0 && tier != "disk" ||
			res.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("request %d (%s): %d %q, %d bytes, Content-Length %s, %v", i, res.Proto, res.StatusCode, tier,
				len(body), res.Header.Get("Content-Length"), err)
		}
		if i == 0 {
			want = body
			if len(want) < 100_000 {
				t.Fatalf("the variant is %d bytes: too small to cross buffers", len(want))
			}
		} else if !bytes.Equal(body, want) {
			t.Errorf("request %d (%s): the body differs from the miss's", i, res.Proto)
		}
	}
}

// With a client CA, a client without a certificate it signed is refused in
// the handshake (Authenticated Origin Pulls); one with such a certificate
// gets its image.
func TestServeClientCertificates(t *testing.T) {
	dir := t.TempDir()
	server, _, certPEM, keyPEM := issue(t, 1, nil, nil, false, false)
	ca, caKey, caPEM, _ := issue(t, 10, nil, nil, true, false)
	_, _, clientPEM, clientKey := issue(t, 11, ca, caKey, false, true)
	_, _, strangerPEM, strangerKey := issue(t, 12, nil, nil, false, true)
	base := startServe(t, tlsOrigin(t),
		"IMGPROXY_SERVER_TLS_CERT", writeFile(t, filepath.Join(dir, "c.pem"), certPEM),
		"IMGPROXY_SERVER_TLS_KEY", writeFile(t, filepath.Join(dir, "k.pem"), keyPEM),
		"IMGPROXY_SERVER_TLS_CLIENT_CA", writeFile(t, filepath.Join(dir, "ca.pem"), caPEM))
	u := base + signedPath(t, "cat.jpg", "w", "40")
	pool := x509.NewCertPool()
	pool.AddCert(server)
	get := func(certs ...tls.Certificate) (int, error) {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
		res, err := c.Get(u)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	if _, err := get(); err == nil {
		t.Error("a client without a certificate got an answer")
	}
	stranger, _ := tls.X509KeyPair(strangerPEM, strangerKey)
	if _, err := get(stranger); err == nil {
		t.Error("a client with a certificate of another CA got an answer")
	}
	pulled, _ := tls.X509KeyPair(clientPEM, clientKey)
	if status, err := get(pulled); err != nil || status != 200 {
		t.Errorf("the CDN's client certificate: %d %v", status, err)
	}
}

// Bad TLS settings stop startup with a message naming the setting.
func TestServeTLSBadSettings(t *testing.T) {
	dir := t.TempDir()
	_, _, certPEM, _ := issue(t, 1, nil, nil, false, false)
	_, _, _, otherKey := issue(t, 2, nil, nil, false, false)
	cert := writeFile(t, filepath.Join(dir, "c.pem"), certPEM)
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"IMGPROXY_SERVER_TLS_CERT", filepath.Join(dir, "missing.pem"), "IMGPROXY_SERVER_TLS_KEY", cert}, "server.tls_cert"},
		{[]string{"IMGPROXY_SERVER_TLS_CERT", cert, "IMGPROXY_SERVER_TLS_KEY", writeFile(t, filepath.Join(dir, "k2.pem"), otherKey)}, "does not match"},
		{[]string{"IMGPROXY_SERVER_TLS_CERT", cert}, "must be set together"},
		{[]string{"IMGPROXY_SERVER_TLS_CLIENT_CA", cert}, "server.tls_client_ca needs"},
		{[]string{"IMGPROXY_SERVER_ORIGIN_SECRET", "short"}, "server.origin_secret"},
	} {
		t.Run(c.want, func(t *testing.T) {
			for i := 0; i < len(c.env); i += 2 {
				t.Setenv(c.env[i], c.env[i+1])
			}
			t.Setenv("IMGPROXY_ORIGIN_DIR", dir)
			code, _, errOut := run(t, warmKey, "", "serve", "--addr", "127.0.0.1:0", "--admin-addr", "")
			if code == 0 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "short") && c.want == "server.origin_secret" {
				t.Errorf("exit %d: %s", code, errOut)
			}
		})
	}
}
