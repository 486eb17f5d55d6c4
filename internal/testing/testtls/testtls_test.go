package testtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
)

// TestHandshake: a server certificate verifies for each of its hosts
// against its CA, with a client certificate the server checks, and fails
// against another CA.
func TestHandshake(t *testing.T) {
	ca := NewCA(t, "test CA")
	srv := ca.Server(t, "127.0.0.1", "localhost")
	cli := ca.Client(t, "postgres")
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{srv.TLS},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.Pool(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	dial := func(name string, roots *x509.CertPool) error {
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: name, RootCAs: roots, Certificates: []tls.Certificate{cli.TLS}})
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, name := range []string{"127.0.0.1", "localhost"} {
		if err := dial(name, ca.Pool()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := dial("elsewhere.example", ca.Pool()); err == nil {
		t.Error("a name the certificate does not hold verified")
	}
	var unknown x509.UnknownAuthorityError
	if err := dial("localhost", NewCA(t, "other CA").Pool()); !errors.As(err, &unknown) {
		t.Errorf("another CA: %v, want x509.UnknownAuthorityError", err)
	}
}
