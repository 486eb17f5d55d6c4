package main

// The helper commands: `gateway password` makes a SCRAM verifier for the
// users list, `gateway cert` a self-signed development certificate,
// `gateway keygen` an encryption key.

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/wire"
)

// maxPasswordLen bounds what `gateway password` reads (PostgreSQL's limit
// on a password message is larger, but no real password is).
const maxPasswordLen = 1024

// passwordCmd reads a password from the first line of stdin and prints its
// SCRAM-SHA-256 verifier (or md5 hash with --md5-user) for the users list.
func passwordCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("password", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	iterations := fs.Int("iterations", wire.DefaultSCRAMIterations, "SCRAM iteration count")
	md5User := fs.String("md5-user", "", "print the md5 hash for this user instead (only for auth: md5)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway password [--iterations N] [--md5-user NAME] < password-file")
		fmt.Fprintln(stderr, "Reads the password from the first line of standard input and prints the verifier")
		fmt.Fprintln(stderr, "to put in the password field of a users entry.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "gateway password: the password is read from standard input, not from arguments")
		return exitUsage
	}
	password, err := readPassword(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "gateway password: %v\n", err)
		return exitUsage
	}
	if *md5User != "" {
		fmt.Fprintln(stdout, wire.MD5Secret(*md5User, password))
		return exitOK
	}
	v, err := wire.NewSCRAMVerifier(password, *iterations)
	if err != nil {
		fmt.Fprintf(stderr, "gateway password: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, v.String())
	return exitOK
}

// readPassword returns the first line of r without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLen+2), maxPasswordLen+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading standard input: %w", err)
	}
	password := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	switch {
	case password == "":
		return "", errors.New("empty password on standard input")
	case len(password) > maxPasswordLen:
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLen)
	}
	return password, nil
}

// certCmd writes a self-signed certificate and key for development.
func certCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("cert", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	hosts := fs.StringSlice("host", []string{"127.0.0.1", "localhost"}, "IP addresses and DNS names the certificate is for (comma separated or repeated)")
	out := fs.String("out", ".", "directory for server.crt and server.key")
	days := fs.Int("days", 365, "validity in days")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway cert [--host H[,H...]] [--out DIR] [--days N]")
		fmt.Fprintln(stderr, "Writes a self-signed ECDSA P-256 certificate (DIR/server.crt) and its key (DIR/server.key)")
		fmt.Fprintln(stderr, "for development; clients verify it with sslrootcert=DIR/server.crt.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || len(*hosts) == 0 || *days < 1 {
		fs.Usage()
		return exitUsage
	}
	certPEM, keyPEM, err := wire.DevCertificate(*hosts, time.Duration(*days)*24*time.Hour)
	if err != nil {
		fmt.Fprintf(stderr, "gateway cert: %v\n", err)
		return exitFailed
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "gateway cert: %v\n", err)
		return exitFailed
	}
	certFile, keyFile := filepath.Join(*out, "server.crt"), filepath.Join(*out, "server.key")
	if err := writeNew(keyFile, keyPEM, 0o600); err != nil {
		fmt.Fprintf(stderr, "gateway cert: %v\n", err)
		return exitFailed
	}
	if err := writeNew(certFile, certPEM, 0o644); err != nil {
		os.Remove(keyFile)
		fmt.Fprintf(stderr, "gateway cert: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "tls_cert_file: %s\ntls_key_file: %s\n", certFile, keyFile)
	return exitOK
}

// writeNew creates file with data; it refuses to overwrite one.
func writeNew(file string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keygenCmd makes an encryption key for an encryption_keys entry: the
// base64 of 32 bytes from crypto/rand, written to a new file of mode 0600
// (--out, which it never overwrites) or to standard output.
func keygenCmd(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("keygen", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file to create (mode 0600) for key_file; empty: print the key")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gateway keygen [--out FILE]")
		fmt.Fprintln(stderr, "Makes a random AES-256 key, base64, for the key_file or key_env of an encryption_keys entry.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	key := make([]byte, engine.EncryptionKeySize)
	if _, err := rand.Read(key); err != nil {
		fmt.Fprintf(stderr, "gateway keygen: %v\n", err)
		return exitFailed
	}
	text := base64.StdEncoding.EncodeToString(key) + "\n"
	if *out == "" {
		fmt.Fprint(stdout, text)
		return exitOK
	}
	if err := writeNew(*out, []byte(text), 0o600); err != nil {
		fmt.Fprintf(stderr, "gateway keygen: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "encryption_keys:\n  - name: NAME\n    key_file: %s\n", *out)
	return exitOK
}
