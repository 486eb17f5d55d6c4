package wire

// SCRAM-SHA-256 verifiers (PostgreSQL's format) and the server side of the
// SCRAM-SHA-256 and SCRAM-SHA-256-PLUS exchanges (RFC 5802, RFC 7677),
// with tls-server-end-point channel binding (RFC 5929).

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/sluice-db/sluice/internal/scram"
)

// SASL mechanism names.
const (
	mechSCRAM     = "SCRAM-SHA-256"
	mechSCRAMPlus = "SCRAM-SHA-256-PLUS"
	// cbTLSServerEndPoint is the only channel binding type offered.
	cbTLSServerEndPoint = "tls-server-end-point"
)

// DefaultSCRAMIterations is PostgreSQL's scram_iterations default.
const DefaultSCRAMIterations = scram.DefaultIterations

// scramSaltLen is PostgreSQL's SCRAM_DEFAULT_SALT_LEN.
const scramSaltLen = scram.SaltLen

// SCRAMVerifier is what the server stores for a SCRAM-SHA-256 password:
// enough to check a client's proof, not enough to log in (package scram).
type SCRAMVerifier = scram.Verifier

// NewSCRAMVerifier derives the verifier of password with a random salt.
func NewSCRAMVerifier(password string, iterations int) (*SCRAMVerifier, error) {
	return scram.New(password, iterations)
}

// ParseSCRAMVerifier parses PostgreSQL's text of a verifier; its errors
// never quote it.
func ParseSCRAMVerifier(s string) (*SCRAMVerifier, error) { return scram.Parse(s) }

// ChannelBinder is an optional power of an AuthConn: the channel binding
// data of the connection's TLS, nil in plaintext.
type ChannelBinder interface {
	TLSServerEndPoint() []byte
}

// tlsServerEndPoint is the hash of the first certificate of cfg, with the
// hash of its signature algorithm (SHA-256 for MD5 and SHA-1), RFC 5929
// section 4.1. nil when there is no static certificate.
func tlsServerEndPoint(cfg *tls.Config) []byte {
	if cfg == nil || len(cfg.Certificates) == 0 || len(cfg.Certificates[0].Certificate) == 0 {
		return nil
	}
	der := cfg.Certificates[0].Certificate[0]
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	var h hash.Hash
	switch cert.SignatureAlgorithm {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		h = sha512.New()
	case x509.PureEd25519:
		return nil // no hash to use: RFC 5929 leaves it undefined
	default:
		h = sha256.New()
	}
	h.Write(der)
	return h.Sum(nil)
}

// scramExchange runs the server side of SCRAM with verifier v. It fails
// with 28P01 when the proof is wrong, and with 08P01 when the client
// breaks the protocol.
func scramExchange(ac AuthConn, user string, v *SCRAMVerifier) error {
	var endPoint []byte
	if cb, ok := ac.(ChannelBinder); ok {
		endPoint = cb.TLSServerEndPoint()
	}
	mechs := []string{mechSCRAM}
	if endPoint != nil {
		mechs = []string{mechSCRAMPlus, mechSCRAM}
	}
	ac.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: mechs})
	if err := ac.Flush(); err != nil {
		return err
	}
	if err := ac.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return err
	}
	msg, err := ac.Receive()
	if err != nil {
		return err
	}
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return fatal(pgerrcode.ProtocolViolation, "expected SASL response, got %T", msg)
	}
	first, err := parseClientFirst(init.AuthMechanism, string(init.Data), endPoint != nil)
	if err != nil {
		return err
	}
	cbindInput := []byte(first.gs2Header)
	if first.plus {
		cbindInput = append(cbindInput, endPoint...)
	}

	var nonceBytes [18]byte
	if _, err := rand.Read(nonceBytes[:]); err != nil {
		return err
	}
	nonce := first.nonce + base64.StdEncoding.EncodeToString(nonceBytes[:])
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(v.Salt), v.Iterations)
	ac.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := ac.Flush(); err != nil {
		return err
	}
	if err := ac.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return err
	}
	if msg, err = ac.Receive(); err != nil {
		return err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return fatal(pgerrcode.ProtocolViolation, "expected SASL response, got %T", msg)
	}
	final, err := parseClientFinal(string(resp.Data))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(final.cbind, cbindInput) != 1 {
		return fatal(pgerrcode.ProtocolViolation, "SCRAM channel binding check failed")
	}
	if final.nonce != nonce {
		return fatal(pgerrcode.ProtocolViolation, "malformed SCRAM message: unexpected SCRAM nonce")
	}

	serverSig, ok := v.VerifyProof(first.bare+","+serverFirst+","+final.withoutProof, final.proof)
	if !ok {
		return errPasswordFailed(user)
	}
	ac.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	return nil
}

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	gs2Header string // "n,," / "y,," / "p=tls-server-end-point,,"
	plus      bool   // channel binding in use
	bare      string // client-first-message-bare
	nonce     string
}

func malformedSCRAM(format string, args ...any) error {
	return fatal(pgerrcode.ProtocolViolation, "malformed SCRAM message: "+format, args...)
}

// parseClientFirst parses gs2-header client-first-message-bare, checking
// it against the mechanism the client chose and what the server offered.
func parseClientFirst(mech, data string, offeredPlus bool) (clientFirst, error) {
	var cf clientFirst
	switch mech {
	case mechSCRAM:
	case mechSCRAMPlus:
		if !offeredPlus {
			return cf, fatal(pgerrcode.ProtocolViolation, "SASL authentication mechanism %s was not offered", mech)
		}
	default:
		return cf, fatal(pgerrcode.ProtocolViolation, "client selected an invalid SASL authentication mechanism")
	}
	flag, rest, ok := strings.Cut(data, ",")
	if !ok {
		return cf, malformedSCRAM("missing GS2 header")
	}
	authzid, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return cf, malformedSCRAM("missing GS2 header")
	}
	switch {
	case flag == "n":
	case flag == "y":
		if offeredPlus {
			// The client could bind but thinks we cannot: a downgrade.
			return cf, fatal(pgerrcode.ProtocolViolation, "SCRAM channel binding negotiation error: the client supports SCRAM channel binding but thinks the server does not")
		}
	case strings.HasPrefix(flag, "p="):
		if mech != mechSCRAMPlus {
			return cf, fatal(pgerrcode.ProtocolViolation, "channel binding requested with a mechanism that does not use it")
		}
		if flag[2:] != cbTLSServerEndPoint {
			return cf, fatal(pgerrcode.ProtocolViolation, "unsupported SCRAM channel-binding type \"%s\"", flag[2:])
		}
		cf.plus = true
	default:
		return cf, malformedSCRAM("unexpected channel-binding flag")
	}
	if mech == mechSCRAMPlus && !cf.plus {
		return cf, fatal(pgerrcode.ProtocolViolation, "%s requires channel binding", mechSCRAMPlus)
	}
	if authzid != "" {
		return cf, fatal(pgerrcode.FeatureNotSupported, "client uses authorization identity, but it is not supported")
	}
	cf.gs2Header = flag + "," + authzid + ","
	cf.bare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") {
		if strings.HasPrefix(attrs[0], "m=") {
			return cf, fatal(pgerrcode.FeatureNotSupported, "client requires an unsupported SCRAM extension")
		}
		return cf, malformedSCRAM("expected attribute \"n\"")
	}
	// The user name in the message is ignored, as PostgreSQL does: the
	// StartupMessage's is the one that counts.
	nonce, ok := strings.CutPrefix(attrs[1], "r=")
	if !ok || nonce == "" {
		return cf, malformedSCRAM("expected attribute \"r\"")
	}
	for _, r := range nonce {
		if r < 0x21 || r > 0x7e || r == ',' {
			return cf, malformedSCRAM("the nonce is not printable")
		}
	}
	cf.nonce = nonce
	return cf, nil
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	cbind        []byte // decoded c= attribute
	nonce        string
	withoutProof string
	proof        []byte
}

// parseClientFinal parses c=...,r=...[,extensions],p=....
func parseClientFinal(data string) (clientFinal, error) {
	var cf clientFinal
	i := strings.LastIndex(data, ",p=")
	if i < 0 {
		return cf, malformedSCRAM("could not find proof in client-final-message")
	}
	cf.withoutProof = data[:i]
	proof, err := base64.StdEncoding.DecodeString(data[i+3:])
	if err != nil || len(proof) != sha256.Size {
		return cf, malformedSCRAM("malformed proof in client-final-message")
	}
	cf.proof = proof
	attrs := strings.Split(cf.withoutProof, ",")
	if len(attrs) < 2 {
		return cf, malformedSCRAM("expected attributes \"c\" and \"r\"")
	}
	c, ok := strings.CutPrefix(attrs[0], "c=")
	if !ok {
		return cf, malformedSCRAM("expected attribute \"c\"")
	}
	if cf.cbind, err = base64.StdEncoding.DecodeString(c); err != nil {
		return cf, malformedSCRAM("channel binding data is not base64")
	}
	if cf.nonce, ok = strings.CutPrefix(attrs[1], "r="); !ok {
		return cf, malformedSCRAM("expected attribute \"r\"")
	}
	return cf, nil
}
