package membership

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayers holds the package layout of docs/adr/0063: the use cases know
// no adapter, transport or NATS; adapters and the port do not reach into
// each other or back into the wiring.
func TestLayers(t *testing.T) {
	const mod = "github.com/rosterhq/roster/"
	const self = mod + "services/internal/membership"
	nats := func(p string) bool { return strings.HasPrefix(p, "github.com/nats-io/") }
	for _, tc := range []struct {
		dir     string
		allowed func(imp string) bool
		rule    string
	}{
		{"app", func(p string) bool {
			return stdlib(p) || strings.HasPrefix(p, mod+"events") || p == "github.com/jonboulle/clockwork" ||
				strings.HasPrefix(p, "github.com/rs/zerolog")
		}, "the use cases import the domain and libraries, never an adapter, a port or NATS"},
		{"adapters/kvmodel", func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && !strings.HasPrefix(p, self+"/adapters/") && p != self
		}, "the KV adapter knows nothing of the other adapters, the port or the wiring"},
		{"adapters/jsevents", func(p string) bool {
			return !strings.HasPrefix(p, self+"/ports") && !strings.HasPrefix(p, self+"/adapters/") && p != self
		}, "the stream adapter knows nothing of the other adapters, the port or the wiring"},
		{"adapters/memmodel", func(p string) bool { return stdlib(p) || p == self+"/app" || strings.HasPrefix(p, mod+"events") },
			"the in-memory adapter is the app's ports and the domain only"},
		{"ports", func(p string) bool {
			return !strings.HasPrefix(p, self+"/adapters/") && p != self && !strings.Contains(p, "jetstream")
		}, "roster-query calls the use cases only: no adapter, no JetStream, no wiring"},
		{"readmodeltest", func(p string) bool { return !nats(p) && !strings.HasPrefix(p, self+"/adapters/") },
			"the contract is written against the port alone"},
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
