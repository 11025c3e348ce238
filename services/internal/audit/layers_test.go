package audit

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayers holds the package layout of docs/adr/0070: the domain does
// no I/O, the use cases know no adapter, transport or driver, and adapters
// and ports do not reach into each other or back into the wiring.
func TestLayers(t *testing.T) {
	const mod = "github.com/rosterhq/roster/"
	const self = mod + "services/internal/audit"
	for _, tc := range []struct {
		dir     string
		allowed func(imp string) bool
		rule    string
	}{
		{"record", func(p string) bool { return stdlib(p) || strings.HasPrefix(p, mod+"events") },
			"the domain imports only the standard library and events"},
		{"app", func(p string) bool {
			return stdlib(p) || p == self+"/record" || strings.HasPrefix(p, mod+"events") ||
				strings.HasPrefix(p, "github.com/cenkalti/backoff/") || p == "github.com/jonboulle/clockwork" ||
				strings.HasPrefix(p, "github.com/prometheus/") || strings.HasPrefix(p, "github.com/rs/zerolog")
		}, "the use cases import the domain and libraries, never an adapter, NATS or ClickHouse"},
		{"adapters/clickhouse", func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self && !strings.Contains(p, "nats")
		},
			"the ClickHouse adapter knows nothing of JetStream, the ports or the wiring"},
		{"adapters/auditstream", func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && p != self && !strings.Contains(p, "clickhouse")
		},
			"the JetStream adapter knows nothing of ClickHouse, the ports or the wiring"},
		{"adapters/memory", func(p string) bool { return stdlib(p) || p == self+"/app" || p == self+"/record" },
			"the in-memory adapter is the app's ports and the domain only"},
		{"ports/publisher", func(p string) bool { return !strings.Contains(p, "clickhouse") && p != self },
			"the publisher knows nothing of ClickHouse or the wiring"},
	} {
		files, err := filepath.Glob(filepath.Join(tc.dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", tc.dir, err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if !tc.allowed(p) {
					t.Errorf("%s imports %s: %s", path, p, tc.rule)
				}
			}
		}
	}
}

func stdlib(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}
