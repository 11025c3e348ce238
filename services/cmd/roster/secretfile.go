package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// maxSecretFile bounds what --secret-file reads: a whsec_ secret is tens
// of bytes.
const maxSecretFile = 4096

// secretFrom reads the secret in path ("-": standard input) into
// body["secret"]; an empty path leaves body alone (the service generates
// one). Secrets come from files, never argv, where any local user can read
// them in the process list.
func secretFrom(c *cobra.Command, path string, body map[string]any) error {
	if path == "" {
		return nil
	}
	var r io.Reader = c.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("--secret-file: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretFile+1))
	if err != nil {
		return fmt.Errorf("--secret-file: %w", err)
	}
	if len(b) > maxSecretFile {
		return fmt.Errorf("--secret-file: longer than %d bytes", maxSecretFile)
	}
	s := string(bytes.TrimSpace(b))
	if s == "" {
		return fmt.Errorf("--secret-file: %s is empty", path)
	}
	body["secret"] = s
	return nil
}
