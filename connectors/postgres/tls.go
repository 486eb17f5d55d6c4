package postgres

// TLS to the server: the verification libpq insists on, the warning when
// sslmode prefer or allow ended without TLS, and what is wrong with the
// dsn's certificate and key files.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// certificateError reports whether err is a failed verification of the
// server's certificate (verify-full's through crypto/tls, verify-ca's
// through pgx's own check of the chain).
func certificateError(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

// checkVerification refuses what libpq refuses and pgx would accept:
// sslmode verify-ca or verify-full without a root certificate (neither
// sslrootcert nor ~/.postgresql/root.crt). pgx would then verify against
// the system's roots, under which verify-ca accepts a certificate any
// public CA issued for any name; libpq fails instead, and so do we.
// sslrootcert=system asks for the system's roots explicitly.
func checkVerification(c *pgconn.Config) error {
	cfgs := []*tls.Config{c.TLSConfig}
	for _, f := range c.Fallbacks {
		cfgs = append(cfgs, f.TLSConfig)
	}
	for _, t := range cfgs {
		if t == nil || t.RootCAs != nil {
			continue
		}
		if !t.InsecureSkipVerify || t.VerifyPeerCertificate != nil { // verify-full, verify-ca
			return pgerr.InvalidParameter("invalid value for option \"dsn\": sslmode verify-ca and verify-full need sslrootcert, the CA file that signed the server's certificate (or sslrootcert=system for the system's trusted roots), as libpq does")
		}
	}
	return nil
}

// noteTLS warns, once per source, when a connection over TCP ended up
// unencrypted although the dsn allowed TLS: sslmode prefer (libpq's and
// pgx's default) or allow tries the other way when the first fails, so a
// server without TLS, or anything between that refuses it, gets plaintext
// without an error. sslmode=disable asked for it and is not warned about.
func (s *source) noteTLS(c *pgconn.PgConn) {
	nc := c.Conn()
	if _, ok := nc.(*tls.Conn); ok || nc.RemoteAddr().Network() == "unix" || s.warnedPlain.Load() {
		return
	}
	tlsAllowed := s.connCfg.TLSConfig != nil
	for _, f := range s.connCfg.Fallbacks {
		tlsAllowed = tlsAllowed || f.TLSConfig != nil
	}
	if tlsAllowed && !s.warnedPlain.Swap(true) {
		s.log.Warn("POSTGRES source connected without TLS: sslmode prefer (the default) or allow fell back to an unencrypted connection; set sslmode=verify-full (or require) in the dsn to refuse one",
			"server", nc.RemoteAddr().String())
	}
}

// sslFileProblem says what is wrong with the dsn's sslrootcert, sslcert
// or sslkey file, "" if nothing is (or the dsn names none). It reads the
// parameters as a lenient reader would: it only explains a failure pgx
// already reported.
func sslFileProblem(dsn string) string {
	params := map[string]string{}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			for _, k := range []string{"sslrootcert", "sslcert", "sslkey"} {
				params[k] = u.Query().Get(k)
			}
		}
	} else {
		for _, f := range strings.Fields(dsn) {
			if k, v, ok := strings.Cut(f, "="); ok {
				params[strings.TrimSpace(k)] = strings.Trim(v, "'")
			}
		}
	}
	if f := params["sslrootcert"]; f != "" && f != "system" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "sslrootcert: " + err.Error()
		}
		if !x509.NewCertPool().AppendCertsFromPEM(b) {
			return fmt.Sprintf("sslrootcert %s holds no PEM certificate", f)
		}
	}
	for _, k := range []string{"sslcert", "sslkey"} {
		f := params[k]
		if f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return k + ": " + err.Error()
		}
		if block, _ := pem.Decode(b); block == nil {
			return fmt.Sprintf("%s %s is not a PEM file", k, f)
		}
	}
	if params["sslcert"] != "" && params["sslkey"] != "" {
		if _, err := tls.LoadX509KeyPair(params["sslcert"], params["sslkey"]); err != nil && !encryptedKey(params["sslkey"]) {
			return fmt.Sprintf("sslcert %s and sslkey %s are not a certificate and its key: %v", params["sslcert"], params["sslkey"], err)
		}
	} else if (params["sslcert"] == "") != (params["sslkey"] == "") {
		return "sslcert and sslkey must be given together"
	}
	return ""
}

// encryptedKey reports whether the PEM key file is encrypted (sslpassword
// decrypts it; its failures are pgx's to report).
func encryptedKey(file string) bool {
	b, _ := os.ReadFile(file)
	block, _ := pem.Decode(b)
	return block != nil && (x509.IsEncryptedPEMBlock(block) || block.Type == "ENCRYPTED PRIVATE KEY")
}
