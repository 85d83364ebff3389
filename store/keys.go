package store

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Size limits every implementation enforces.
const (
	// MaxKeySize is the longest key, in bytes.
	MaxKeySize = 1024
	// MaxValueSize is the largest value, in bytes (1.5 MiB).
	MaxValueSize = 3 << 19
)

// ValidateKey reports whether key may be stored: it must be non-empty, at
// most MaxKeySize bytes, valid UTF-8 and free of NUL bytes. The error wraps
// ErrInvalidKey and says which rule the key breaks. Implementations call it on
// every key they are given, so that all of them accept the same keys.
//
// Prefixes passed to List and Watch are not keys: any string, including "",
// is a valid prefix.
func ValidateKey(key string) error {
	var problem string
	switch {
	case key == "":
		problem = "must not be empty"
	case len(key) > MaxKeySize:
		return fmt.Errorf("%w (%d bytes, starting %q): must be at most %d bytes",
			ErrInvalidKey, len(key), truncate(key, 32), MaxKeySize)
	case !utf8.ValidString(key):
		problem = "must be valid UTF-8"
	case strings.IndexByte(key, 0) >= 0:
		problem = "must not contain a NUL byte"
	default:
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, problem)
}

// ValidateValue reports whether value may be stored: it must be at most
// MaxValueSize bytes. The error wraps ErrValueTooLarge. A nil value is
// valid and is stored as an empty value.
func ValidateValue(value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrValueTooLarge, len(value), MaxValueSize)
	}
	return nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
