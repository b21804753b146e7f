package rechistmqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/seed178a96f3/rechist"
)

// TLSConfig returns a TLS configuration for WithTLSConfig that trusts the
// certificates of the PEM file caFile (a private CA, as mosquitto_sub's
// --cafile) instead of the system's CA pool.
func TLSConfig(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate: %w", caFile, rechist.ErrInvalidArgument)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
