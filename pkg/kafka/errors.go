package kafka

import "errors"

var (
	// ErrInvalidAuth: the TLS or SASL settings cannot make a client (a CA
	// without a certificate in it, a certificate without its key, an
	// unknown SASL mechanism).
	ErrInvalidAuth = errors.New("invalid kafka TLS/SASL settings")
	// ErrSASLAuthentication: a broker refused the SASL credentials (an
	// *AuthError says which user and mechanism).
	ErrSASLAuthentication = errors.New("SASL authentication failed")
	// ErrTLSHandshake: the TLS handshake with a broker failed (an
	// *AuthError says which broker; typically its certificate is not
	// signed by the configured CA, or it requires a client certificate).
	ErrTLSHandshake = errors.New("TLS handshake failed")
)
