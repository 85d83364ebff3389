package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// certValidity is how long a generated certificate is valid.
const certValidity = 365 * 24 * time.Hour

// certRenewBefore is how long before its end a kept certificate is
// replaced at start.
const certRenewBefore = 30 * 24 * time.Hour

// servingCertificate returns the certificate of cfg: given, loaded from
// files, or kept in (or generated into) CertDir.
func servingCertificate(cfg Config, now time.Time) (*tls.Certificate, error) {
	switch {
	case cfg.Certificate != nil:
		cert := *cfg.Certificate
		if cert.Leaf == nil && len(cert.Certificate) > 0 {
			leaf, err := x509.ParseCertificate(cert.Certificate[0])
			if err != nil {
				return nil, fmt.Errorf("server: Config.Certificate: %w", err)
			}
			cert.Leaf = leaf
		}
		return &cert, nil
	case cfg.CertFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("server: load the serving certificate %q / %q: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		return &cert, nil
	}
	hosts := certHosts(cfg)
	certPath := filepath.Join(cfg.CertDir, CertFileName)
	keyPath := filepath.Join(cfg.CertDir, KeyFileName)
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && certUsable(cert.Leaf, hosts, now) {
		return &cert, nil
	}
	certPEM, keyPEM, err := selfSigned(hosts, cfg.NodeName, now)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.CertDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: make the certificate directory %q: %w", cfg.CertDir, err)
	}
	// The key first: a certificate on disk always has its key.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("server: the generated certificate: %w", err)
	}
	return &cert, nil
}

// certHosts are the names and addresses a generated certificate is for.
func certHosts(cfg Config) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if cfg.NodeName != "" {
		hosts = append(hosts, cfg.NodeName)
	}
	for _, h := range cfg.CertHosts {
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// certUsable says whether a kept certificate can be served: valid now and
// for a while, and for every host.
func certUsable(leaf *x509.Certificate, hosts []string, now time.Time) bool {
	if leaf == nil || now.Before(leaf.NotBefore) || now.Add(certRenewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// selfSigned makes a self-signed ECDSA P-256 serving certificate for
// hosts, in PEM.
func selfSigned(hosts []string, nodeName string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("server: generate a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("server: generate a serial number: %w", err)
	}
	cn := nodeName
	if cn == "" {
		cn = "localhost"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn + "@" + fmt.Sprint(now.Unix()), Organization: []string{"drover node agent"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: clients trust it as its own CA
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("server: make the self-signed certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("server: encode the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("server: write %q: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("server: write %q: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("server: write %q: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("server: write %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("server: write %q: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("server: write %q: %w", path, err)
	}
	return nil
}
